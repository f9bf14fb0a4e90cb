using System.Text.Json;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// `gpuaudit report --prometheus URL` against a real Prometheus (Debian package) that scraped the
/// agent replaying traces.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PrometheusReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-promreport-").FullName;

    [ToolFact("prometheus")]
    public async Task A_job_report_comes_from_prometheus_range_queries()
    {
        var jobMap = JobMap("4242 0\n");
        var agentPort = BackgroundProcess.FreePort();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        using var agent = BackgroundProcess.StartGpuAudit(_dir, "replay", RepoPaths.Trace("mixed"), "--loop", "--listen", $"127.0.0.1:{agentPort}", "--job-map", jobMap);
        using var server = StartPrometheus(agentPort, out var url);
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

    [ToolFact("prometheus")]
    public async Task Diverted_gpu_minutes_agree_across_md_html_json_and_prometheus_reports()
    {
        var jobMap = JobMap("4242 0 purpose=training\n");
        var journal = Path.Combine(_dir, "journal");
        var agentPort = BackgroundProcess.FreePort();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var server = StartPrometheus(agentPort, out var url);
        var ready = await BackgroundProcess.WaitForAsync(async () => (await http.GetAsync(new Uri(url + "/-/ready"))).IsSuccessStatusCode ? "ready" : null, TimeSpan.FromSeconds(30));
        Assert.True(ready is not null, "Prometheus was not ready within 30 s:\n" + server.Output);

        // 20 s of the mixed recording at recorded speed: the miner's violation opens, diverts the GPU,
        // and the replay ends on its own (flushing its journal) while Prometheus scrapes every second.
        using (var agent = BackgroundProcess.StartGpuAudit(_dir, "replay", RepoPaths.Trace("mixed"), "--loop", "--until", "20", "--listen", $"127.0.0.1:{agentPort}", "--job-map", jobMap, "--journal", journal))
        {
            var ended = await BackgroundProcess.WaitForAsync(() => Task.FromResult(agent.HasExited ? "ended" : null), TimeSpan.FromSeconds(120));
            Assert.True(ended is not null, "the replay did not end:\n" + agent.Output);
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        var fromJournal = new Dictionary<string, string>();
        foreach (var format in (string[])["json", "md", "html"])
        {
            var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "4242", "--journal", journal, "--format", format);
            Assert.True(code == 0, stderr);
            fromJournal[format] = stdout;
        }

        var (promCode, promJson, promErr) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "4242", "--prometheus", url, "--format", "json");
        Assert.True(promCode == 0, promErr + "\nprometheus:\n" + server.Output);

        using var journalReport = JsonDocument.Parse(fromJournal["json"]);
        using var prometheusReport = JsonDocument.Parse(promJson);
        var journalMinutes = journalReport.RootElement.GetProperty("diverted_gpu_minutes").GetDouble();
        var prometheusMinutes = prometheusReport.RootElement.GetProperty("diverted_gpu_minutes").GetDouble();
        Assert.True(journalMinutes > 0.1, "diverted minutes in the journal: " + journalMinutes);
        // The same number within one scrape interval: what the replay's last tick added after the last
        // scrape (this recording's polls are up to 2.8 s apart, so up to 3 GPU-seconds = 0.05 GPU-minutes).
        Assert.InRange(prometheusMinutes, journalMinutes - 0.05, journalMinutes + 0.001);
        var verdict = journalReport.RootElement.GetProperty("verdict").GetString()!;
        Assert.EndsWith(" GPU-minutes diverted", verdict, StringComparison.Ordinal);
        Assert.Contains(verdict, fromJournal["md"], StringComparison.Ordinal);
        Assert.Contains(verdict, fromJournal["html"], StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A GPU→job map directory whose GPU 0 line is <paramref name="gpu0"/>.</summary>
    private string JobMap(string gpu0)
    {
        var jobMap = Directory.CreateDirectory(Path.Combine(_dir, "jobmap")).FullName;
        File.WriteAllText(Path.Combine(jobMap, "0"), gpu0);
        return jobMap;
    }

    /// <summary>A real Prometheus (Debian package) on a free loopback port, scraping the agent at <paramref name="agentPort"/>.</summary>
    private BackgroundProcess StartPrometheus(int agentPort, out string url)
    {
        var prometheus = ToolRequirement.Find("prometheus")
            ?? throw new InvalidOperationException("prometheus not found: install the Debian package 'prometheus' (the README's test command does)");
        var promPort = BackgroundProcess.FreePort();
        File.WriteAllText(Path.Combine(_dir, "prometheus.yml"), ScrapeConfig(agentPort));
        url = $"http://127.0.0.1:{promPort}";
        return BackgroundProcess.Start(prometheus, _dir, [
            "--config.file=" + Path.Combine(_dir, "prometheus.yml"),
            "--storage.tsdb.path=" + Path.Combine(_dir, "data"),
            $"--web.listen-address=127.0.0.1:{promPort}",
        ]);
    }

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
