using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// The /metrics server's security settings, from a file in the Prometheus exporter-toolkit web
/// configuration format (<c>--web-config FILE</c>, as node_exporter's <c>--web.config.file</c>);
/// read by <see cref="WebConfigFile"/>. Null parts are off: no TLS, no basic auth, no rate limit.
/// </summary>
public sealed record WebConfig
{
    /// <summary>The file it was read from (named in messages).</summary>
    public required string Path { get; init; }

    public TlsSettings? Tls { get; init; }

    /// <summary>User name to bcrypt hash; empty: no basic auth.</summary>
    public IReadOnlyDictionary<string, string> BasicAuthUsers { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Headers added to every response (http_server_config.headers).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    public RateLimitSettings? RateLimit { get; init; }
}

/// <summary>How a client must present a certificate (exporter-toolkit's client_auth_type, Go's tls.ClientAuthType).</summary>
public enum ClientAuthType
{
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

/// <summary>tls_server_config: the server certificate (files re-read when they change), client certificates, versions.</summary>
public sealed record TlsSettings
{
    /// <summary>Certificate and key PEM files; null when given inline.</summary>
    public (string Cert, string Key)? Files { get; init; }

    /// <summary>Certificate and key PEM text given inline (cert, key); null when given as files.</summary>
    public (string Cert, string Key)? Inline { get; init; }

    public ClientAuthType ClientAuth { get; init; } = ClientAuthType.NoClientCert;

    /// <summary>CAs that client certificates must chain to (client_ca_file or client_ca).</summary>
    public X509Certificate2Collection? ClientCas { get; init; }

    public SslProtocols Protocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;
}

/// <summary>rate_limit: one request per <see cref="Interval"/>, bursts of <see cref="Burst"/>.</summary>
public sealed record RateLimitSettings(TimeSpan Interval, int Burst);
