using System.Diagnostics;
using GpuAudit.Agent.Journal;

namespace GpuAudit.Cli.Tests;

/// <summary>`demo --fast`: plays the bundled recordings once and stops, stamping the wall clock.</summary>
public sealed class DemoCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-demo-").FullName;

    [Fact]
    public async Task Fast_demo_stops_at_the_end_of_its_recordings_with_wall_clock_stamps()
    {
        var started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var clock = Stopwatch.StartNew();

        // --duration 600 used to loop the recordings for ten wall-clock minutes (674 MB of output).
        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "demo", "--fast", "--duration", "600", "--listen", "127.0.0.1:" + BackgroundProcess.FreePort(), "--dir", _dir);

        Assert.True(code == 0, stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"took {clock.Elapsed}");
        Assert.True(stdout.Length < 64 * 1024, $"{stdout.Length} bytes of output");
        Assert.Matches(@"done after 2\d ticks", stdout);
        Assert.Contains("open violations:", stdout, StringComparison.Ordinal);

        using var journal = JournalReader.Open(Path.Combine(_dir, "journal"));
        var violations = journal.AllViolations().ToList();
        var hash = Assert.Single(violations, v => v.Rule == PolicyRule.HashCompute && v.Job is null);
        // The recording is from another day: its violations are stamped when the demo ran.
        Assert.InRange(hash.Start, started - 1, started + 120);
    }

    [Fact]
    public async Task Fast_demo_with_a_duration_stops_after_that_much_trace_time()
    {
        var (code, stdout, stderr) = await GpuAuditProcess.RunAsync(_dir, "demo", "--fast", "--duration", "5", "--listen", "127.0.0.1:" + BackgroundProcess.FreePort(), "--dir", _dir);

        Assert.True(code == 0, stderr);
        Assert.Matches(@"done after [56] ticks", stdout);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
