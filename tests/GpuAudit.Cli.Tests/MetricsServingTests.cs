using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace GpuAudit.Cli.Tests;

/// <summary>The serving flags of `gpuaudit replay` (and agent): --web-config, --process-metrics, --max-process-series.</summary>
public sealed class MetricsServingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-serving-").FullName;

    [Fact]
    public async Task With_a_web_config_naming_a_certificate_and_a_bcrypt_user_https_needs_the_password()
    {
        var certs = TestCertificates.Create(_dir);
        var web = Path.Combine(_dir, "web.yml");
        // The hash as an operator makes it: htpasswd -nbBC 10 "" 's3cret' (Debian apache2-utils).
        await File.WriteAllTextAsync(web, $"""
            tls_server_config:
              cert_file: {certs.ServerCertFile}
              key_file: {certs.ServerKeyFile}
            basic_auth_users:
              prometheus: $2y$10$oz2wGH1PKKz6VFSCknj8CuDBbDz/mMtOc5Hd9c6M/.Y.kKaYk2402
            """);
        var port = BackgroundProcess.FreePort();
        using var agent = BackgroundProcess.StartGpuAudit(_dir, "replay", RepoPaths.Trace("mixed"), "--loop", "--listen", $"127.0.0.1:{port}", "--web-config", web);
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certs.IsIssuedByCa(new X509Certificate2(certificate));
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        var url = new Uri($"https://127.0.0.1:{port}/metrics");

        var served = await BackgroundProcess.WaitForAsync(async () => (await http.GetAsync(url)).StatusCode == HttpStatusCode.Unauthorized ? "up" : null, TimeSpan.FromSeconds(60));
        Assert.True(served is not null, agent.Output);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("prometheus:s3cret")));
        using var withPassword = await http.SendAsync(request);
        using var without = await http.GetAsync(url);

        Assert.Equal(HttpStatusCode.OK, withPassword.StatusCode);
        Assert.Contains("gpuaudit_build_info{", await withPassword.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
    }

    [Theory]
    [InlineData("basic_auth_users:\n  prometheus: s3cret\n", "line 2: the password of basic_auth_users.prometheus is not a bcrypt hash; store the hash, not the password")]
    [InlineData("tls_server_confg:\n  cert_file: a\n", "line 1: unknown key 'tls_server_confg' in top level")]
    public async Task A_bad_web_config_is_one_line_naming_the_file_and_exit_2(string yaml, string expected)
    {
        var web = Path.Combine(_dir, "web.yml");
        await File.WriteAllTextAsync(web, yaml);

        var (code, _, stderr) = await GpuAuditProcess.RunAsync(_dir, "replay", RepoPaths.Trace("mixed"), "--fast", "--listen", $"127.0.0.1:{BackgroundProcess.FreePort()}", "--web-config", web);

        Assert.Equal(2, code);
        Assert.StartsWith($"gpuaudit: --web-config: {web}: {expected}", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("--process-metrics", "some", "--process-metrics: 'some' is not full, minimal or off")]
    [InlineData("--max-process-series", "-1", "--max-process-series must be 0 or more")]
    public async Task A_bad_budget_flag_is_one_line_and_exit_2(string flag, string value, string expected)
    {
        var (code, _, stderr) = await GpuAuditProcess.RunAsync(_dir, "replay", RepoPaths.Trace("mixed"), "--fast", flag, value);

        Assert.Equal(2, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.False(GpuAuditProcess.HasStackTrace(stderr), stderr);
    }

    [Fact]
    public async Task Minimal_process_metrics_export_identity_and_class_only()
    {
        var dump = Path.Combine(_dir, "m.prom");

        var (code, _, stderr) = await GpuAuditProcess.RunAsync(_dir, "replay", RepoPaths.Trace("mixed"), "--fast", "--until", "15", "--process-metrics", "minimal", "--metrics-dump", dump);

        Assert.True(code == 0, stderr);
        var series = (await File.ReadAllLinesAsync(dump)).Where(l => l.StartsWith("gpuaudit_process_", StringComparison.Ordinal) && l.Contains('{', StringComparison.Ordinal)).ToList();
        Assert.Equal(4, series.Count);
        Assert.All(series, s => Assert.Matches("^gpuaudit_process_(info|class)\\{", s));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
