using System.Text.Json;
using GpuAudit.Agent.Journal;
using GpuAudit.Linux;

namespace GpuAudit.Cli.Tests.Commands;

/// <summary>
/// --context-env end to end: a process's environment (read by the inspector from a procfs tree)
/// names its RL run; the violation its evidence opens carries the run, through the journal, into
/// every report format, with the secret beside it masked.
/// </summary>
public sealed class RunContextReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-context-").FullName;

    public RunContextReportTests()
    {
        var proc = Directory.CreateDirectory(Path.Combine(_dir, "proc", "4242")).FullName;
        File.WriteAllText(Path.Combine(_dir, "proc", "stat"), "cpu  1 2 3 4\nbtime 1764000000\n");
        File.WriteAllText(Path.Combine(proc, "stat"), "4242 (xmrig) S 1 4242 1 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 3000 1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n");
        File.WriteAllText(Path.Combine(proc, "status"), "Name:\txmrig\nUid:\t1000\t1000\t1000\t1000\n");
        File.WriteAllText(Path.Combine(proc, "cgroup"), "0::/user.slice\n");
        File.WriteAllText(Path.Combine(proc, "cmdline"), "xmrig\0");
        File.WriteAllText(Path.Combine(proc, "environ"), $"RL_RUN_ID=grpo-run-42\0RL_EPISODE_ID=ep-0917\0HF_TOKEN={SecretSamples.GithubToken}\0");

        var inspector = new ProcessInspector(Path.Combine(_dir, "proc"), new InspectorOptions { ContextEnv = RunContext.ParseNames(["RL_RUN_ID,RL_EPISODE_ID", "HF_TOKEN"]) });
        var insight = inspector.Inspect(4242)!;
        var device = new GpuDevice(0, "GPU-context-0", "NVIDIA H100 80GB HBM3", "580", 85520809984, true);
        var process = new ProcessView(0, device.Uuid, new ProcessUsage(4242, 1 << 30, 90, 10), new ProcessRecord { Pid = 4242, Comm = "xmrig", Exe = "/tmp/xmrig" },
            insight, JobAttribution.Resolve(insight.Job, null), new Verdict(100, 0, 4242, WorkloadClass.Compute, 0.9, []));
        var gpu = new GpuView(device, new GpuSample { Time = 100, Gpu = 0, UtilGpuPct = 100 }, new CollectorStatus(0, true), new Verdict(100, 0, null, WorkloadClass.Compute, 0.9, []), null, [process]);
        var result = new PolicyEngine(AuditPolicy.Default, "gpu-7").Evaluate(new TickAnalysis(100, [gpu], [process], PolicyResult.None));

        using var journal = AuditJournal.Open(Path.Combine(_dir, "journal"));
        journal.Record(result);
    }

    [Fact]
    public void The_json_report_names_the_run_and_masks_the_token()
    {
        var (exit, stdout, stderr) = GpuAuditProcess.Run("report", "--all", "--journal", Path.Combine(_dir, "journal"), "--format", "json");

        Assert.True(exit == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        var miner = report.RootElement.GetProperty("violations").EnumerateArray().Single(v => v.GetProperty("rule").GetString() == "miner_identity");
        Assert.Equal(["RL_RUN_ID=grpo-run-42", "RL_EPISODE_ID=ep-0917", "HF_TOKEN=***"], miner.GetProperty("context").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain(SecretSamples.GithubToken, stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("md", "- Run context: RL_RUN_ID=grpo-run-42, RL_EPISODE_ID=ep-0917, HF_TOKEN=***")]
    [InlineData("html", "<li><b>Run context:</b> RL_RUN_ID=grpo-run-42, RL_EPISODE_ID=ep-0917, HF_TOKEN=***</li>")]
    public void Markdown_and_html_reports_name_the_run(string format, string expected)
    {
        var (exit, stdout, stderr) = GpuAuditProcess.Run("report", "--all", "--journal", Path.Combine(_dir, "journal"), "--format", format);

        Assert.True(exit == 0, stderr);
        Assert.Contains(expected, stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretSamples.GithubToken, stdout, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
