using System.Security.Authentication;
using GpuAudit.Agent.Exporters.Http;

namespace GpuAudit.Agent.Tests.Exporters.Http;

public sealed class WebConfigFileTests : IDisposable
{
    // From `htpasswd -nbBC 10 "" 's3cret' | tr -d ':\n'` (Debian apache2-utils), as the exporter-toolkit docs suggest.
    private const string HtpasswdHash = "$2y$10$oz2wGH1PKKz6VFSCknj8CuDBbDz/mMtOc5Hd9c6M/.Y.kKaYk2402";

    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-webconfig-").FullName;

    [Fact]
    public void A_node_exporter_style_file_is_read_whole()
    {
        var certs = TestCertificates.Create(_dir);

        var config = Parse($"""
            # as written for node_exporter's --web.config.file
            tls_server_config:
              cert_file: {certs.ServerCertFile}
              key_file: {certs.ServerKeyFile}
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: {certs.CaFile}
              min_version: TLS13
              prefer_server_cipher_suites: true
            http_server_config:
              http2: false
              headers:
                Strict-Transport-Security: max-age=31536000
            basic_auth_users:
              prometheus: {HtpasswdHash}
            rate_limit:
              interval: 250ms
              burst: 20
            """);

        Assert.Equal((certs.ServerCertFile, certs.ServerKeyFile), config.Tls!.Files);
        Assert.Equal(ClientAuthType.RequireAndVerifyClientCert, config.Tls.ClientAuth);
        Assert.Single(config.Tls.ClientCas!);
        Assert.Equal(SslProtocols.Tls13, config.Tls.Protocols);
        Assert.Equal("max-age=31536000", config.Headers["Strict-Transport-Security"]);
        Assert.Equal(HtpasswdHash, config.BasicAuthUsers["prometheus"]);
        Assert.Equal(new RateLimitSettings(TimeSpan.FromMilliseconds(250), 20), config.RateLimit);
    }

    [Fact]
    public void An_htpasswd_hash_verifies_the_password_it_was_made_from()
    {
        // Another bcrypt implementation's $2y$ hash: the library must agree with it.
        Assert.True(BCrypt.Net.BCrypt.Verify("s3cret", HtpasswdHash));
        Assert.False(BCrypt.Net.BCrypt.Verify("s3cret!", HtpasswdHash));
    }

    [Fact]
    public void An_empty_file_turns_everything_off()
    {
        var config = Parse(string.Empty);

        Assert.Null(config.Tls);
        Assert.Empty(config.BasicAuthUsers);
        Assert.Null(config.RateLimit);
    }

    [Theory]
    [InlineData("basic_auth_user:\n  prometheus: x\n", "line 1: unknown key 'basic_auth_user' in top level; the keys there are tls_server_config, http_server_config, basic_auth_users, rate_limit")]
    [InlineData("basic_auth_users:\n  prometheus: s3cret\n", "line 2: the password of basic_auth_users.prometheus is not a bcrypt hash; store the hash, not the password")]
    [InlineData("tls_server_config:\n  cert_file: /x.pem\n", "line 2: tls_server_config needs a certificate and its key; set cert_file and key_file")]
    [InlineData("tls_server_config:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem\n", "cannot read tls_server_config certificate /nonexistent/cert.pem or key /nonexistent/key.pem")]
    [InlineData("tls_server_config:\n  cert: a\n  key: b\n  min_version: TLS10\n", "line 4: min_version TLS10 is not supported (TLS 1.0 and 1.1 are broken); use TLS12 or TLS13")]
    [InlineData("tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", "line 2: tls_server_config.cipher_suites is not supported by gpuaudit")]
    [InlineData("basic_auth_users: [a, b]\n", "line 1: basic_auth_users is not a mapping of keys to values")]
    [InlineData("rate_limit:\n  interval: soon\n", "line 2: rate_limit.interval 'soon' is not a duration")]
    [InlineData("tls_server_config: {cert_file: a\n", "not valid YAML")]
    public void A_bad_file_is_one_line_naming_the_file_the_line_and_the_fix(string yaml, string expected)
    {
        var path = Path.Combine(_dir, "web.yml");

        var error = Assert.Throws<UserInputException>(() => WebConfigFile.Parse(path, yaml));

        Assert.StartsWith($"{path}: ", error.Message, StringComparison.Ordinal);
        Assert.Equal(UserInput.WebConfig, error.Input);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_key_that_is_not_the_certificates_is_refused_at_load()
    {
        var certs = TestCertificates.Create(_dir);

        var error = Assert.Throws<UserInputException>(() => Parse($"""
            tls_server_config:
              cert_file: {certs.ServerCertFile}
              key_file: {certs.ClientKeyFile}
            """));

        Assert.Contains("is unusable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Client_certificates_need_a_ca_and_a_ca_needs_a_policy()
    {
        var certs = TestCertificates.Create(_dir);
        var tls = $"tls_server_config:\n  cert_file: {certs.ServerCertFile}\n  key_file: {certs.ServerKeyFile}\n";

        Assert.Contains("needs the CAs", Assert.Throws<UserInputException>(() => Parse(tls + "  client_auth_type: RequireAndVerifyClientCert\n")).Message, StringComparison.Ordinal);
        Assert.Contains("client_auth_type is NoClientCert", Assert.Throws<UserInputException>(() => Parse(tls + $"  client_ca_file: {certs.CaFile}\n")).Message, StringComparison.Ordinal);
        Assert.Contains("client_auth_type 'Yes' is unknown", Assert.Throws<UserInputException>(() => Parse(tls + "  client_auth_type: Yes\n")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_names_itself()
    {
        var path = Path.Combine(_dir, "absent.yml");

        var error = Assert.Throws<UserInputException>(() => WebConfigFile.Load(path));

        Assert.StartsWith($"{path}: cannot read it", error.Message, StringComparison.Ordinal);
        Assert.Equal(UserInput.WebConfig, error.Input);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private WebConfig Parse(string yaml) => WebConfigFile.Parse(Path.Combine(_dir, "web.yml"), yaml);
}
