using System.Text.Json;
using System.Text.RegularExpressions;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// kill -9 of the agent during a replay, then a restart: every violation /metrics showed is in
/// the journal, and `gpuaudit report --format json` lists it.
/// </summary>
public sealed partial class CrashDurabilityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-crash-").FullName;

    [Fact]
    public async Task Every_violation_metrics_showed_survives_kill_9_and_is_reported()
    {
        var jobMap = Directory.CreateDirectory(Path.Combine(_dir, "jobmap")).FullName;
        await File.WriteAllTextAsync(Path.Combine(jobMap, "0"), "4242 0\n");
        var journal = Path.Combine(_dir, "journal");
        var port = BackgroundProcess.FreePort();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        HashSet<string> shown;
        using (var agent = BackgroundProcess.StartGpuAudit(_dir, "replay", RepoPaths.Trace("mixed"), "--loop", "--listen", $"127.0.0.1:{port}", "--job-map", jobMap, "--journal", journal))
        {
            var active = await BackgroundProcess.WaitForAsync(
                async () =>
                {
                    var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
                    var lines = ActiveViolationLine().Matches(text).Select(m => m.Value).ToList();
                    return lines.Count > 0 ? lines : null;
                },
                TimeSpan.FromSeconds(60));
            Assert.True(active is not null, "no gpuaudit_violation_active series within 60 s; agent output:\n" + agent.Output);
            shown = [.. active.Select(l => PidLabel().Match(l).Groups[1].Value)];
            agent.KillHard();
        }

        // Restart on the same journal (it must open after the crash), then report.
        var (restart, _, restartErr) = await GpuAuditProcess.RunAsync(_dir, "replay", RepoPaths.Trace("mixed"), "--fast", "--until", "2", "--job-map", jobMap, "--journal", journal);
        Assert.True(restart == 0, restartErr);
        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "report", "--job", "4242", "--journal", journal, "--format", "json");

        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        var violations = report.RootElement.GetProperty("violations").EnumerateArray().ToList();
        var reportedPids = violations.Where(v => v.GetProperty("rule").GetString() == "hash_compute").Select(v => v.GetProperty("pid").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        Assert.Equal(["776"], shown);
        Assert.Superset(shown, reportedPids);
        Assert.All(violations, v => Assert.NotEqual(0, v.GetProperty("evidence").GetArrayLength()));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [GeneratedRegex("^gpuaudit_violation_active\\{[^}]*\\} 1$", RegexOptions.Multiline)]
    private static partial Regex ActiveViolationLine();

    [GeneratedRegex("pid=\"(\\d+)\"")]
    private static partial Regex PidLabel();
}
