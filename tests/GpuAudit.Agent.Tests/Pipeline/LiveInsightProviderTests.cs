using GpuAudit.Agent.Pipeline;
using GpuAudit.Linux;

namespace GpuAudit.Agent.Tests.Pipeline;

/// <summary>
/// The live insight provider over a fake procfs: inspections come from the background, and a pid
/// reused by another process (another start time) never carries the previous process's insight.
/// </summary>
public sealed class LiveInsightProviderTests : IDisposable
{
    private const int Pid = 4242;

    private readonly FakeProcTree _tree = new();
    private readonly CancellationTokenSource _stop = new();

    [Fact]
    public async Task The_first_ask_returns_the_identity_s_evidence_at_once_and_the_inspection_arrives_from_the_background()
    {
        _tree.Process(Pid, "xmrig", startTicks: 3000).File(Pid, "cmdline", "xmrig\0-o\0stratum+tcp://pool.example:3333\0");
        // The background workers start after the first asks: otherwise an inspection that finishes
        // between two asks (a fast machine, or a slow one descheduling the test) replaces the first
        // answer, and the assertions on it race the worker.
        var (provider, inspections) = Start(run: false);
        var identity = new ProcessRecord { Pid = Pid, StartTicks = 3000, Comm = "xmrig" };

        var first = provider.GetInsight(Pid, identity);
        Assert.NotNull(first);
        Assert.Same(identity, first.Identity);
        Assert.Null(first.Uid); // only /proc's inspection knows the user
        Assert.Contains(first.Findings, f => f.Kind == FindingKind.MinerExecutable);
        Assert.Same(first, provider.GetInsight(Pid, identity));

        _ = inspections.RunAsync(_stop.Token);
        var inspected = await Poll.UntilAsync(() => provider.GetInsight(Pid, identity) is { Uid: not null } now ? now : null, "insight");
        Assert.Equal(1000, inspected.Uid);
        Assert.Contains(inspected.Findings, f => f.Kind == FindingKind.MinerCommandLine);
    }

    [Fact]
    public async Task A_reused_pid_never_gets_the_previous_process_s_insight()
    {
        _tree.Process(Pid, "xmrig", startTicks: 3000).File(Pid, "cmdline", "xmrig\0-o\0stratum+tcp://pool.example:3333\0");
        var (provider, inspections) = Start();
        var miner = new ProcessRecord { Pid = Pid, StartTicks = 3000, Comm = "xmrig" };
        var minerInsight = await Poll.UntilAsync(() => provider.GetInsight(Pid, miner) is { Uid: not null } now ? now : null, "insight");
        Assert.Contains(minerInsight.Findings, f => f.Kind == FindingKind.MinerExecutable);

        // The miner exits; the kernel gives its pid to a trainer.
        _tree.Process(Pid, "trainer", startTicks: 9000).File(Pid, "cmdline", "python3\0train.py\0");
        var trainer = new ProcessRecord { Pid = Pid, StartTicks = 9000, Comm = "trainer" };
        var completed = inspections.Completed;

        var before = provider.GetInsight(Pid, trainer)!;
        Assert.Same(trainer, before.Identity);
        Assert.Empty(before.Findings);
        var trainerInsight = await Poll.UntilAsync(() => provider.GetInsight(Pid, trainer) is { Uid: not null } now ? now : null, "insight");

        Assert.Equal("trainer", trainerInsight.Comm);
        Assert.Equal(9000, trainerInsight.Identity.StartTicks);
        Assert.Empty(trainerInsight.Findings);
        Assert.True(inspections.Completed > completed);
    }

    [Fact]
    public async Task The_inspection_is_asked_for_again_after_the_refresh_period_and_the_old_one_serves_meanwhile()
    {
        _tree.Process(Pid, "trainer", startTicks: 3000);
        var clock = new FakeTimeProvider();
        var inspections = new BackgroundInspector(new ProcessInspector(_tree.Root));
        _ = inspections.RunAsync(_stop.Token);
        var provider = new LiveInsightProvider(inspections, null, clock, TimeSpan.FromSeconds(30));
        var identity = new ProcessRecord { Pid = Pid, StartTicks = 3000 };
        var first = await Poll.UntilAsync(() => provider.GetInsight(Pid, identity) is { Uid: not null } now ? now : null, "insight");

        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Same(first, provider.GetInsight(Pid, identity));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Same(first, provider.GetInsight(Pid, identity));
        var second = await Poll.UntilAsync(() => provider.GetInsight(Pid, identity) is { } now && !ReferenceEquals(now, first) ? now : null, "insight");

        Assert.Equal("trainer", second.Comm);
    }

    [Fact]
    public async Task A_pid_that_never_existed_has_no_insight()
    {
        var (provider, inspections) = Start();

        Assert.Null(provider.GetInsight(99999, null));
        await Poll.UntilAsync(() => inspections.Completed > 0, "completed inspection");

        Assert.Null(provider.GetInsight(99999, null));
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
        _tree.Dispose();
    }

    /// <param name="run">Start the background workers now (false: the caller starts them; asks queue meanwhile).</param>
    private (LiveInsightProvider Provider, BackgroundInspector Inspections) Start(bool run = true)
    {
        var inspections = new BackgroundInspector(new ProcessInspector(_tree.Root));
        if (run)
        {
            _ = inspections.RunAsync(_stop.Token);
        }

        return (new LiveInsightProvider(inspections, null, TimeProvider.System, TimeSpan.FromMinutes(5)), inspections);
    }
}
