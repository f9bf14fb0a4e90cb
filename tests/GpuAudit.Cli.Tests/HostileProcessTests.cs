using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// Issue 12's must-shows against live processes holding crafted content: a command line built to
/// make a backtracking redactor quadratic must not slow `inspect` or the agent's polls; secrets in
/// a dozen shapes across a process tree (and an `ssh -R` child with a secret in ProxyCommand) reach
/// no output while the tunnel is still reported; a pid reused by another process is a new process.
/// The agent runs against the NVML stand-in, which lists the test's live processes as GPU 0's
/// (NVML_STUB_PROCESSES).
/// </summary>
[Trait("Category", "Integration")]
public sealed class HostileProcessTests(NvmlStubLibrary stub, ITestOutputHelper output) : IClassFixture<NvmlStubLibrary>, IDisposable
{
    // MAX_ARG_STRLEN is 128 KiB with the NUL: the longest one argument can be.
    private const int LongestArgument = 128 * 1024 - 1;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-hostile-").FullName;

    /// <summary>Must show: four 128 KiB arguments shaped x…://y…: inspect finishes in under 2 s.</summary>
    [Fact]
    public async Task Inspect_of_a_process_with_four_128_KiB_url_shaped_arguments_finishes_in_seconds()
    {
        using var hostile = LiveProcess.Start(["worker", UrlShaped(), UrlShaped(), UrlShaped(), UrlShaped()]);

        var watch = Stopwatch.StartNew();
        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "inspect", "--pid", hostile.PidText, "--json");
        watch.Stop();

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"inspect --pid (4 x 128 KiB x…://y… arguments) took {watch.Elapsed.TotalSeconds:F2} s, process start included"));
        Assert.True(code == 0, stderr);
        Assert.Contains("worker -c sleep 600; exit 0 …[command line longer than 64 KiB; the rest was not read]", stdout, StringComparison.Ordinal);

        // About 1 s on a quiet machine (most of it the runtime starting); the quadratic regex took
        // minutes. The bound is generous for a loaded CI machine; it catches a return to quadratic.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"inspect took {watch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Must show: with such a process on a GPU the agent keeps polling at 1 Hz.</summary>
    [ToolFact("gcc")]
    public async Task With_that_process_on_a_gpu_the_agent_keeps_polling_at_one_hertz()
    {
        using var hostile = LiveProcess.Start(["worker", UrlShaped(), UrlShaped(), UrlShaped(), UrlShaped()]);
        using var other = LiveProcess.Start(["sleeper"]);
        var environment = GpuProcesses(hostile.Pid, other.Pid);
        // Analysed every 2 s, not the default 10: the poll count on /metrics moves a batch at a
        // time, and an 8 s window must see several (the new pids are still asked about on arrival).
        var (agent, port) = await StartAgentAsync(environment, "--journal", Path.Combine(_dir, "journal"), "--job-map", Path.Combine(_dir, "jobmap"), "--interval", "1", "--analysis-interval", "2");
        using var running = agent;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        var first = await WaitForAsync(agent, http, port, body => Polls(body) >= 2 && body.Contains("pid=\"" + hostile.PidText + "\"", StringComparison.Ordinal) ? body : null);
        var started = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(8));
        var second = await WaitForAsync(agent, http, port, body => body);
        var seconds = started.Elapsed.TotalSeconds;

        var rate = (Polls(second) - Polls(first)) / seconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"polls per second with the hostile process on the GPU: {rate:F2} over {seconds:F1} s"));
        Assert.False(agent.HasExited, agent.Output);
        Assert.True(rate >= 0.6, $"{rate:F2} polls per second:\n{agent.Output}");
    }

    /// <summary>
    /// Must show: a process tree with secrets in a dozen shapes and an `ssh -R` child with a secret
    /// in ProxyCommand: no secret in any output (inspect, traces, journal, reports, OTLP); the
    /// tunnel is still reported.
    /// </summary>
    [ToolFact("gcc")]
    public async Task Secrets_across_a_process_tree_reach_no_output_and_the_tunnel_is_still_reported()
    {
        var samples = SecretSamples.All;
        var secrets = samples.SelectMany(s => s.Secrets).ToList();
        var rootArgs = SecretSamples.All.Single(s => s.Shape == "--k v").Argv;
        using var tree = LiveProcess.StartTree(_dir, rootArgs, [.. samples.Select(s => (IReadOnlyList<string>)s.Argv)]);
        var children = tree.WaitForChildren(samples.Count, argv => argv.Length > 2 && argv[2] == "sleep 600; exit 0");
        var ssh = children.Single(c => c.Argv[0] == "ssh");
        var outputs = new List<(string What, string Text)>();

        // inspect, text and JSON.
        foreach (var format in new[] { "--json", "--no-memory-scan" })
        {
            var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "inspect", "--pid", tree.PidText, format);
            Assert.True(code == 0, stderr);
            outputs.Add(("inspect " + format, stdout + stderr));
        }

        Assert.Contains("tunnel: ssh -R 9000:localhost:22 -o ProxyCommand=*** -J ***@bastion", outputs[1].Text, StringComparison.Ordinal);

        // record: the trace's process lines.
        var environment = GpuProcesses(tree.Pid, ssh.Pid);
        var trace = Path.Combine(_dir, "hostile.jsonl");
        var recorded = await GpuAuditProcess.RunWithEnvironmentAsync(_dir, environment, "record", "-o", trace, "--duration", "2", "--interval", "0.5", "--nvml-library", stub.Path);
        Assert.True(recorded.ExitCode == 0, recorded.Stderr);
        outputs.Add(("trace", await File.ReadAllTextAsync(trace) + recorded.Stdout + recorded.Stderr));

        // agent: /metrics, OTLP, the journal; then every report format from the journal.
        var jobMap = Directory.CreateDirectory(Path.Combine(_dir, "jobmap")).FullName;
        await File.WriteAllTextAsync(Path.Combine(jobMap, "0"), "777 0\n");
        var journal = Path.Combine(_dir, "journal");
        using var receiver = new OpenTelemetryExportTests.OtlpReceiver();
        var otel = new Dictionary<string, string>(environment)
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        };
        var (agent, port) = await StartAgentAsync(otel, "--interval", "0.5", "--journal", journal, "--job-map", jobMap, "--no-memory-scan");
        using (agent)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var metrics = await WaitForAsync(agent, http, port, body => body.Contains("gpuaudit_violation_active{rule=\"gpu_job_egress\"", StringComparison.Ordinal) ? body : null);
            await WaitForAsync(agent, http, port, body => receiver.Requests.Any(r => r.Path == "/v1/logs") ? body : null);
            outputs.Add(("/metrics", metrics));
            outputs.Add(("agent log", agent.Output));
        }

        outputs.Add(("OTLP", string.Concat(receiver.Requests.Select(r => Encoding.UTF8.GetString(r.Body)))));
        outputs.Add(("journal files", string.Concat(Directory.EnumerateFiles(journal).Select(f => Encoding.UTF8.GetString(File.ReadAllBytes(f))))));
        foreach (var format in new[] { "md", "json", "html" })
        {
            var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "777", "--journal", journal, "--format", format);
            Assert.True(code == 0, stderr);
            outputs.Add(("report " + format, stdout + stderr));
        }

        Assert.Contains("ssh -R 9000:localhost:22", outputs.Single(o => o.What == "report md").Text, StringComparison.Ordinal);
        Assert.Contains("ssh -R 9000:localhost:22", outputs.Single(o => o.What == "OTLP").Text, StringComparison.Ordinal);
        foreach (var (what, text) in outputs)
        {
            Assert.NotEmpty(text);
            foreach (var secret in secrets)
            {
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{what} holds the secret {secret}");
            }
        }
    }

    /// <summary>
    /// A pid the kernel gives to another process between two polls is a new process: the journal
    /// names the new executable for it, never the old one. The pid is made to change hands with a
    /// procfs whose entry for the GPU's pid points at one live process, then at another.
    /// </summary>
    [ToolFact("gcc")]
    public async Task A_reused_pid_is_a_new_process_and_the_journal_names_its_own_executable()
    {
        var miner = Path.Combine(_dir, "xmrig");
        File.Copy("/bin/sleep", miner); // File.Copy keeps the mode: executable
        using var trainer = Process.Start(new ProcessStartInfo("sleep") { ArgumentList = { "600" } })!;
        Process? impostor = null;
        var proc = Directory.CreateDirectory(Path.Combine(_dir, "proc")).FullName;
        File.CreateSymbolicLink(Path.Combine(proc, "stat"), "/proc/stat");
        var gpuPid = Path.Combine(proc, "4242");
        File.CreateSymbolicLink(gpuPid, "/proc/" + trainer.Id.ToString(CultureInfo.InvariantCulture));
        var journal = Path.Combine(_dir, "journal");
        var jobMap = Directory.CreateDirectory(Path.Combine(_dir, "jobmap")).FullName;
        await File.WriteAllTextAsync(Path.Combine(jobMap, "0"), "777 0\n");
        try
        {
            var (agent, port) = await StartAgentAsync([], "--interval", "0.5", "--journal", journal, "--job-map", jobMap, "--proc-root", proc, "--no-memory-scan");
            using (agent)
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
                await WaitForAsync(agent, http, port, body => body.Contains("gpuaudit_process_info{", StringComparison.Ordinal) && body.Contains("/sleep", StringComparison.Ordinal) ? body : null);

                // The trainer's pid now belongs to a miner, started after it (start times have a 10 ms
                // resolution: a real reuse comes after the old process exited, never in the same tick).
                impostor = Process.Start(new ProcessStartInfo(miner) { ArgumentList = { "600" } })!;
                File.Delete(gpuPid);
                File.CreateSymbolicLink(gpuPid, "/proc/" + impostor.Id.ToString(CultureInfo.InvariantCulture));
                await WaitForAsync(agent, http, port, body => body.Contains("gpuaudit_violation_active{rule=\"miner_identity\"", StringComparison.Ordinal) ? body : null);
            }

            var (code, report, stderr) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "777", "--journal", journal, "--format", "json");
            Assert.True(code == 0, stderr);
            Assert.True(report.Contains(miner, StringComparison.Ordinal), report);
            using var json = System.Text.Json.JsonDocument.Parse(report);
            var violations = json.RootElement.GetProperty("violations").EnumerateArray().Where(v => v.GetProperty("rule").GetString() == "miner_identity").ToList();
            Assert.NotEmpty(violations);
            Assert.All(violations, v => Assert.True(v.GetProperty("executable").GetString() == miner, report));
        }
        finally
        {
            trainer.Kill();
            impostor?.Kill();
            impostor?.Dispose();
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The stand-in's environment for GPU 0 running these live processes (as training work).</summary>
    private Dictionary<string, string> GpuProcesses(params int[] pids)
    {
        var list = Path.Combine(_dir, "gpu-processes");
        File.WriteAllLines(list, pids.Select(pid => pid.ToString(CultureInfo.InvariantCulture) + " train"));
        return new Dictionary<string, string> { ["NVML_STUB_PROCESSES"] = list };
    }

    private static string UrlShaped() => new string('x', 65_000) + "://" + new string('y', LongestArgument - 65_003);

    private static double Polls(string body)
    {
        foreach (var line in body.Split('\n'))
        {
            if (line.StartsWith("gpuaudit_polls_total ", StringComparison.Ordinal))
            {
                return double.Parse(line["gpuaudit_polls_total ".Length..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static async Task<string> WaitForAsync(BackgroundProcess agent, HttpClient http, int port, Func<string, string?> done)
    {
        var text = await BackgroundProcess.WaitForAsync(
            async () =>
            {
                Assert.False(agent.HasExited, "the agent exited:\n" + agent.Output);
                return done(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")));
            },
            Patience);
        Assert.True(text is not null, "the agent never served what the test waits for:\n" + agent.Output);
        return text;
    }

    /// <summary>The agent on a free port; another port when one picked was taken meanwhile (other test runs share this machine).</summary>
    private async Task<(BackgroundProcess Agent, int Port)> StartAgentAsync(Dictionary<string, string> environment, params string[] extra)
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = BackgroundProcess.FreePort();
            var agent = BackgroundProcess.StartGpuAudit(_dir, environment, ["agent", "--nvml-library", stub.Path, "--listen", $"127.0.0.1:{port}", .. extra]);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var up = await BackgroundProcess.WaitForAsync(async () => agent.HasExited ? "exited" : (await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"))).Length > 0 ? "up" : null, Patience);
            if (up == "up" || attempt == 3 || !agent.Output.Contains("Address already in use", StringComparison.Ordinal))
            {
                return (agent, port);
            }

            agent.Dispose();
        }
    }
}
