using System.Globalization;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using GpuAudit.Core;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// Reads a web configuration file in the Prometheus exporter-toolkit format
/// (docs/web-configuration.md of prometheus/exporter-toolkit), so the file an operator already
/// writes for node_exporter works here. Like the toolkit, an unknown key is an error, never
/// ignored: a misspelt <c>basic_auth_users</c> must not leave /metrics open. Keys the agent does
/// not implement (cipher suites, curve preferences, client SANs) are errors too, saying so. Every
/// problem is one <see cref="UserInputException"/> naming the file, the line and the fix; the
/// certificate and key are loaded here, so a bad one stops the agent at start-up.
/// </summary>
public static partial class WebConfigFile
{
    private const string Doc = "see docs/metrics.md, \"Securing /metrics\"";

    private static readonly string[] TopKeys = ["tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"];
    private static readonly string[] TlsKeys = ["cert_file", "key_file", "cert", "key", "client_auth_type", "client_ca_file", "client_ca", "min_version", "max_version", "prefer_server_cipher_suites", "cipher_suites", "curve_preferences", "client_allowed_sans"];
    private static readonly string[] HttpKeys = ["http2", "headers"];
    private static readonly string[] HeaderNames = ["Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "X-XSS-Protection", "Strict-Transport-Security"];

    public static WebConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{path}: cannot read it ({e.Message}); give a readable YAML file ({Doc})", e) { Input = UserInput.WebConfig };
        }

        return Parse(path, text);
    }

    public static WebConfig Parse(string path, string text)
    {
        var reader = new Reader(path);
        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count == 0)
            {
                // An empty file is a valid configuration with everything off, as in the toolkit.
                return new WebConfig { Path = path };
            }

            root = reader.Mapping(stream.Documents[0].RootNode, "the file");
        }
        catch (YamlException e)
        {
            throw reader.Error(e.Start.Line, $"not valid YAML ({FirstSentence(e.Message)})", "fix the YAML syntax");
        }

        reader.OnlyKeys(root, TopKeys, "top level");
        var config = new WebConfig { Path = path };
        if (Reader.Child(root, "tls_server_config") is { } tls and not YamlScalarNode { Value: null or "" })
        {
            config = config with { Tls = ReadTls(reader, reader.Mapping(tls, "tls_server_config")) };
        }

        if (Reader.Child(root, "http_server_config") is { } http and not YamlScalarNode { Value: null or "" })
        {
            config = config with { Headers = ReadHttp(reader, reader.Mapping(http, "http_server_config")) };
        }

        if (Reader.Child(root, "basic_auth_users") is { } users and not YamlScalarNode { Value: null or "" })
        {
            config = config with { BasicAuthUsers = ReadUsers(reader, reader.Mapping(users, "basic_auth_users")) };
        }

        if (Reader.Child(root, "rate_limit") is { } rate and not YamlScalarNode { Value: null or "" })
        {
            config = config with { RateLimit = ReadRateLimit(reader, reader.Mapping(rate, "rate_limit")) };
        }

        return config;
    }

    private static TlsSettings ReadTls(Reader reader, YamlMappingNode tls)
    {
        reader.OnlyKeys(tls, TlsKeys, "tls_server_config");
        foreach (var unsupported in new[] { "cipher_suites", "curve_preferences", "client_allowed_sans" })
        {
            if (Reader.Child(tls, unsupported) is { } node)
            {
                throw reader.Error(node, $"tls_server_config.{unsupported} is not supported by gpuaudit (the system's OpenSSL policy chooses ciphers and curves)", $"remove {unsupported}");
            }
        }

        var certFile = reader.OptionalString(tls, "cert_file");
        var keyFile = reader.OptionalString(tls, "key_file");
        var cert = reader.OptionalString(tls, "cert");
        var key = reader.OptionalString(tls, "key");
        if (certFile is not null && cert is not null)
        {
            throw reader.Error(tls, "tls_server_config has both cert and cert_file", "keep one of them");
        }

        if (keyFile is not null && key is not null)
        {
            throw reader.Error(tls, "tls_server_config has both key and key_file", "keep one of them");
        }

        if ((certFile ?? cert) is null || (keyFile ?? key) is null)
        {
            throw reader.Error(tls, "tls_server_config needs a certificate and its key", "set cert_file and key_file (PEM files)");
        }

        var settings = new TlsSettings
        {
            Files = certFile is not null && keyFile is not null ? (certFile, keyFile) : null,
            Inline = cert is not null && key is not null ? (cert, key) : null,
            ClientAuth = ReadClientAuth(reader, tls),
            ClientCas = ReadClientCas(reader, tls),
            Protocols = ReadProtocols(reader, tls),
        };
        if (settings.Files is null && settings.Inline is null)
        {
            throw reader.Error(tls, "tls_server_config mixes an inline certificate with a key file (or the reverse)", "give cert_file and key_file, or cert and key");
        }

        if (settings.ClientCas is not null && settings.ClientAuth == ClientAuthType.NoClientCert)
        {
            throw reader.Error(tls, "client CAs are set but client_auth_type is NoClientCert", "set client_auth_type: RequireAndVerifyClientCert, or remove the client CA");
        }

        if (settings.ClientAuth is ClientAuthType.RequireAndVerifyClientCert or ClientAuthType.VerifyClientCertIfGiven && settings.ClientCas is null)
        {
            throw reader.Error(tls, $"client_auth_type {settings.ClientAuth} needs the CAs to verify client certificates against", "set client_ca_file");
        }

        // Load now: a wrong path, a key that does not match, an unreadable PEM all stop start-up.
        _ = ServerCertificate.Load(settings, reader.Path);
        return settings;
    }

    private static ClientAuthType ReadClientAuth(Reader reader, YamlMappingNode tls)
    {
        if (reader.OptionalString(tls, "client_auth_type") is not { } text)
        {
            return ClientAuthType.NoClientCert;
        }

        return Enum.TryParse<ClientAuthType>(text, ignoreCase: false, out var value) && Enum.IsDefined(value)
            ? value
            : throw reader.Error(Reader.Child(tls, "client_auth_type")!, $"client_auth_type '{text}' is unknown", "use one of " + string.Join(", ", Enum.GetNames<ClientAuthType>()));
    }

    private static X509Certificate2Collection? ReadClientCas(Reader reader, YamlMappingNode tls)
    {
        var file = reader.OptionalString(tls, "client_ca_file");
        var inline = reader.OptionalString(tls, "client_ca");
        if (file is not null && inline is not null)
        {
            throw reader.Error(tls, "tls_server_config has both client_ca and client_ca_file", "keep one of them");
        }

        if ((file ?? inline) is null)
        {
            return null;
        }

        var cas = new X509Certificate2Collection();
        try
        {
            if (file is not null)
            {
                cas.ImportFromPemFile(file);
            }
            else
            {
                cas.ImportFromPem(inline);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw reader.Error(Reader.Child(tls, file is not null ? "client_ca_file" : "client_ca")!, $"cannot read the client CA {file ?? "(inline)"}: {e.Message}", "give PEM CA certificates");
        }

        return cas.Count > 0
            ? cas
            : throw reader.Error(Reader.Child(tls, file is not null ? "client_ca_file" : "client_ca")!, $"the client CA {file ?? "(inline)"} holds no certificate", "give PEM CA certificates");
    }

    private static SslProtocols ReadProtocols(Reader reader, YamlMappingNode tls)
    {
        var min = Version(reader, tls, "min_version") ?? SslProtocols.Tls12;
        var max = Version(reader, tls, "max_version") ?? SslProtocols.Tls13;
        if (min > max)
        {
            throw reader.Error(tls, "min_version is above max_version", "swap them");
        }

        return min == max ? min : SslProtocols.Tls12 | SslProtocols.Tls13;
    }

    private static SslProtocols? Version(Reader reader, YamlMappingNode tls, string key) => reader.OptionalString(tls, key) switch
    {
        null => null,
        "TLS12" => SslProtocols.Tls12,
        "TLS13" => SslProtocols.Tls13,
        "TLS10" or "TLS11" => throw reader.Error(Reader.Child(tls, key)!, $"{key} {reader.OptionalString(tls, key)} is not supported (TLS 1.0 and 1.1 are broken)", "use TLS12 or TLS13"),
        var other => throw reader.Error(Reader.Child(tls, key)!, $"{key} '{other}' is unknown", "use TLS12 or TLS13"),
    };

    private static Dictionary<string, string> ReadHttp(Reader reader, YamlMappingNode http)
    {
        reader.OnlyKeys(http, HttpKeys, "http_server_config");
        if (Reader.Child(http, "http2") is { } http2 && !bool.TryParse(reader.Scalar(http2, "http2"), out _))
        {
            throw reader.Error(http2, "http2 is not true or false", "write http2: true or http2: false");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (Reader.Child(http, "headers") is { } node and not YamlScalarNode { Value: null or "" })
        {
            var mapping = reader.Mapping(node, "http_server_config.headers");
            reader.OnlyKeys(mapping, HeaderNames, "http_server_config.headers");
            foreach (var (name, value) in mapping.Children)
            {
                var text = reader.Scalar(value, ((YamlScalarNode)name).Value!);
                if (text.Length > 0)
                {
                    headers[((YamlScalarNode)name).Value!] = text;
                }
            }
        }

        return headers;
    }

    private static Dictionary<string, string> ReadUsers(Reader reader, YamlMappingNode users)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (nameNode, hashNode) in users.Children)
        {
            var name = reader.Scalar(nameNode, "a basic_auth_users name");
            var hash = reader.Scalar(hashNode, $"basic_auth_users.{name}");
            if (name.Length == 0 || name.Contains(':', StringComparison.Ordinal))
            {
                throw reader.Error(nameNode, $"basic_auth_users name '{name}' is empty or has a ':'", "use a user name without ':'");
            }

            if (!BcryptHash().IsMatch(hash))
            {
                throw reader.Error(hashNode, $"the password of basic_auth_users.{name} is not a bcrypt hash", "store the hash, not the password: htpasswd -nBC 10 \"\" | tr -d ':\\n'");
            }

            result[name] = hash;
        }

        return result;
    }

    private static RateLimitSettings? ReadRateLimit(Reader reader, YamlMappingNode rate)
    {
        reader.OnlyKeys(rate, ["interval", "burst"], "rate_limit");
        var intervalText = reader.OptionalString(rate, "interval") ?? "0s";
        var interval = Duration(intervalText) ?? throw reader.Error(Reader.Child(rate, "interval")!, $"rate_limit.interval '{intervalText}' is not a duration", "write for example 100ms or 1s");
        var burstText = reader.OptionalString(rate, "burst") ?? "0";
        if (!int.TryParse(burstText, NumberStyles.None, CultureInfo.InvariantCulture, out var burst))
        {
            throw reader.Error(Reader.Child(rate, "burst") ?? rate, $"rate_limit.burst '{burstText}' is not a whole number", "write for example burst: 10");
        }

        // As in the toolkit, an interval of 0 turns the limiter off.
        return interval <= TimeSpan.Zero ? null : new RateLimitSettings(interval, Math.Max(1, burst));
    }

    /// <summary>A Prometheus duration (1h30m, 250ms); null when it is not one.</summary>
    private static TimeSpan? Duration(string text)
    {
        var match = DurationPattern().Match(text);
        if (!match.Success)
        {
            return null;
        }

        var total = TimeSpan.Zero;
        foreach (Capture part in match.Groups["part"].Captures)
        {
            var unit = part.Value.TrimStart("0123456789".ToCharArray());
            var number = long.Parse(part.Value.AsSpan(0, part.Value.Length - unit.Length), CultureInfo.InvariantCulture);
            total += unit switch
            {
                "ms" => TimeSpan.FromMilliseconds(number),
                "s" => TimeSpan.FromSeconds(number),
                "m" => TimeSpan.FromMinutes(number),
                "h" => TimeSpan.FromHours(number),
                "d" => TimeSpan.FromDays(number),
                "w" => TimeSpan.FromDays(7 * number),
                _ => TimeSpan.FromDays(365 * number),
            };
        }

        return total;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf('.', StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).Trim();
    }

    [GeneratedRegex(@"^\$2[abxy]?\$[0-9]{2}\$[./A-Za-z0-9]{53}$")]
    private static partial Regex BcryptHash();

    [GeneratedRegex("^(?<part>[0-9]+(ms|s|m|h|d|w|y))+$")]
    private static partial Regex DurationPattern();

    /// <summary>Typed access to the YAML tree, with every error naming the file and line.</summary>
    private sealed class Reader(string path)
    {
        public string Path => path;

        public UserInputException Error(long line, string problem, string fix) =>
            new($"{path}: line {line}: {problem}; {fix} ({Doc})") { Input = UserInput.WebConfig };

        public UserInputException Error(YamlNode node, string problem, string fix) => Error(node.Start.Line, problem, fix);

        public YamlMappingNode Mapping(YamlNode node, string what) =>
            node as YamlMappingNode ?? throw Error(node, $"{what} is not a mapping of keys to values", "indent its keys under it");

        public string Scalar(YamlNode node, string what) =>
            node is YamlScalarNode scalar ? scalar.Value ?? string.Empty : throw Error(node, $"{what} is not a single value", "give it one value");

        public static YamlNode? Child(YamlMappingNode mapping, string key) =>
            mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

        public string? OptionalString(YamlMappingNode mapping, string key) =>
            Child(mapping, key) is { } node ? NullIfEmpty(Scalar(node, key)) : null;

        public void OnlyKeys(YamlMappingNode mapping, string[] allowed, string where)
        {
            foreach (var key in mapping.Children.Keys)
            {
                var name = Scalar(key, "a key");
                if (!allowed.Contains(name, StringComparer.Ordinal))
                {
                    throw Error(key, $"unknown key '{name}' in {where}", "the keys there are " + string.Join(", ", allowed));
                }
            }
        }

        private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
    }
}
