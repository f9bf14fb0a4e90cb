using System.Text.Json;
using GpuAudit.Tests;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// `gpuaudit report --prometheus URL` against a real Prometheus (Debian package) that scraped the
/// agent replaying traces.
/// </summary>
public sealed class PrometheusReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-promreport-").FullName;

    [Fact]
    public async Task A_job_report_comes_from_prometheus_range_queries()
    {
        var prometheus = new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("prometheus not found: install the Debian package 'prometheus' (the README's test command does)");
        var jobMap = Directory.CreateDirectory(Path.Combine(_dir, "jobmap")).FullName;
        await File.WriteAllTextAsync(Path.Combine(jobMap, "0"), "4242 0\n");
        var agentPort = BackgroundProcess.FreePort();
        var promPort = BackgroundProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(_dir, "prometheus.yml"), ScrapeConfig(agentPort));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        using var agent = BackgroundProcess.StartGpuAudit(_dir, "replay", RepoPaths.Trace("mixed"), "--loop", "--listen", $"127.0.0.1:{agentPort}", "--job-map", jobMap);
        using var server = BackgroundProcess.Start(prometheus, _dir, [
            "--config.file=" + Path.Combine(_dir, "prometheus.yml"),
            "--storage.tsdb.path=" + Path.Combine(_dir, "data"),
            $"--web.listen-address=127.0.0.1:{promPort}",
        ]);
        var url = $"http://127.0.0.1:{promPort}";
        var scraped = await BackgroundProcess.WaitForAsync(
            async () =>
            {
                var body = await http.GetStringAsync(new Uri($"{url}/api/v1/query?query=gpuaudit_violation_active%7Bjob_id%3D%224242%22%7D"));
                return body.Contains("\"pid\":\"776\"", StringComparison.Ordinal) ? body : null;
            },
            TimeSpan.FromSeconds(90));
        Assert.True(scraped is not null, $"Prometheus never showed the hash violation of job 4242.\nagent:\n{agent.Output}\nprometheus:\n{server.Output}");
        await Task.Delay(TimeSpan.FromSeconds(3));

        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "4242", "--prometheus", url, "--format", "json");

        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        var root = report.RootElement;
        Assert.Equal("4242", root.GetProperty("job").GetString());
        Assert.Contains("GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a", stdout, StringComparison.Ordinal);
        Assert.Contains(root.GetProperty("violations").EnumerateArray(), v => v.GetProperty("rule").GetString() == "hash_compute" && v.GetProperty("pid").GetInt32() == 776);
        Assert.StartsWith("1 violation", root.GetProperty("verdict").GetString(), StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The shipped scrape job (no relabelling: the agent serves job_id), scraping every second.</summary>
    private static string ScrapeConfig(int agentPort) => $"""
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: gpuaudit
            static_configs:
              - targets: ["127.0.0.1:{agentPort}"]

        """;
}
