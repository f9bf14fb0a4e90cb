using GpuAudit.Agent.Pipeline;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Samples;
using GpuAudit.Linux;
using GpuAudit.Tests;

namespace GpuAudit.Agent.Tests.Pipeline;

/// <summary>
/// The live insight provider over a fake procfs: inspections come from the background, and a pid
/// reused by another process (another start time) never carries the previous process's insight.
/// </summary>
public sealed class LiveInsightProviderTests : IDisposable
{
    private const int Pid = 4242;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly FakeProcTree _tree = new();
    private readonly CancellationTokenSource _stop = new();

    [Fact]
    public async Task The_first_ask_returns_at_once_and_the_inspection_arrives_from_the_background()
    {
        _tree.Process(Pid, "trainer", startTicks: 3000).File(Pid, "cmdline", "python3\0train.py\0");
        var (provider, _) = Start();
        var identity = new ProcessRecord { Pid = Pid, StartTicks = 3000 };

        Assert.Null(provider.GetInsight(Pid, identity));
        var insight = await WaitForAsync(() => provider.GetInsight(Pid, identity));

        Assert.Equal("trainer", insight.Comm);
        Assert.Empty(insight.Findings);
    }

    [Fact]
    public async Task A_reused_pid_never_gets_the_previous_process_s_insight()
    {
        _tree.Process(Pid, "xmrig", startTicks: 3000).File(Pid, "cmdline", "xmrig\0-o\0stratum+tcp://pool.example:3333\0");
        var (provider, inspections) = Start();
        var miner = new ProcessRecord { Pid = Pid, StartTicks = 3000 };
        var minerInsight = await WaitForAsync(() => provider.GetInsight(Pid, miner));
        Assert.Contains(minerInsight.Findings, f => f.Kind == FindingKind.MinerExecutable);

        // The miner exits; the kernel gives its pid to a trainer.
        _tree.Process(Pid, "trainer", startTicks: 9000).File(Pid, "cmdline", "python3\0train.py\0");
        var trainer = new ProcessRecord { Pid = Pid, StartTicks = 9000 };
        var completed = inspections.Completed;

        Assert.Null(provider.GetInsight(Pid, trainer));
        var trainerInsight = await WaitForAsync(() => provider.GetInsight(Pid, trainer));

        Assert.Equal("trainer", trainerInsight.Comm);
        Assert.Empty(trainerInsight.Findings);
        Assert.True(inspections.Completed > completed);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
        _tree.Dispose();
    }

    private (LiveInsightProvider Provider, BackgroundInspector Inspections) Start()
    {
        var inspections = new BackgroundInspector(new ProcessInspector(_tree.Root));
        _ = inspections.RunAsync(_stop.Token);
        return (new LiveInsightProvider(inspections, null, TimeProvider.System, TimeSpan.FromMinutes(5)), inspections);
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> probe)
        where T : class
    {
        var until = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < until)
        {
            if (probe() is { } value)
            {
                return value;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("no insight within " + Deadline);
    }
}
