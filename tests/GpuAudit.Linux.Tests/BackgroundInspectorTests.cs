namespace GpuAudit.Linux.Tests;

public sealed class BackgroundInspectorTests
{
    [Fact]
    public async Task Inspections_run_in_the_background_and_new_pids_go_before_refreshes()
    {
        var order = new List<int>();
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var inspector = new BackgroundInspector(
            pid =>
            {
                if (pid == 1)
                {
                    started.Set();
                    release.Wait();
                }

                lock (order)
                {
                    order.Add(pid);
                }

                return new ProcessInsight { Identity = new ProcessRecord { Pid = pid } };
            },
            new FakeTimeProvider());
        using var stop = new CancellationTokenSource();
        var loop = inspector.RunAsync(stop.Token);

        inspector.Request(1, urgent: true);
        Assert.True(started.Wait(Poll.Deadline));
        inspector.Request(2, urgent: false);
        inspector.Request(3, urgent: true);
        inspector.Request(3, urgent: true);
        release.Set();
        await Poll.UntilAsync(() => inspector.Completed == 3, "third completed inspection");

        Assert.Equal([1, 3, 2], order);
        Assert.Equal(3, inspector.Latest(3)!.Pid);
        await stop.CancelAsync();
        await loop.WaitAsync(Poll.Deadline);
    }

    [Fact]
    public async Task An_inspection_held_past_the_stall_timeout_is_reported_and_the_others_go_on()
    {
        await using var held = new HeldInspector(pid => pid == 1);
        var inspector = held.Inspector;

        inspector.Request(1, urgent: true);
        inspector.Request(2, urgent: true);
        await held.AdvanceClockUntilAsync(() => inspector.Latest(2) is not null, seconds: 60);

        Assert.NotNull(inspector.Latest(2));
        Assert.Contains("did not finish within 20 s", Assert.Single(inspector.Latest(1)!.Unreadable), StringComparison.Ordinal);

        // A held pid is not queued again (another worker would only get stuck on it too).
        inspector.Request(1, urgent: true);
    }

    [Fact]
    public async Task Five_processes_whose_reads_the_kernel_holds_do_not_stop_inspection_of_the_next()
    {
        await using var held = new HeldInspector(pid => pid <= 5);
        var inspector = held.Inspector;

        for (var pid = 1; pid <= 6; pid++)
        {
            inspector.Request(pid, urgent: true);
        }

        await held.AdvanceClockUntilAsync(() => inspector.Latest(6) is not null, seconds: 400);

        Assert.NotNull(inspector.Latest(6));
        for (var pid = 1; pid <= 5; pid++)
        {
            Assert.Contains("did not finish within 20 s", Assert.Single(inspector.Latest(pid)!.Unreadable), StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// A running inspector on a fake clock whose reads of the pids <c>holds</c> picks block, as reads
    /// the kernel holds do, until it is disposed: then it releases them and stops.
    /// </summary>
    private sealed class HeldInspector : IAsyncDisposable
    {
        private readonly FakeTimeProvider _time = new();
        private readonly ManualResetEventSlim _held = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public HeldInspector(Func<int, bool> holds)
        {
            Inspector = new BackgroundInspector(
                pid =>
                {
                    if (holds(pid))
                    {
                        _held.Wait();
                    }

                    return new ProcessInsight { Identity = new ProcessRecord { Pid = pid } };
                },
                _time);
            _loop = Inspector.RunAsync(_stop.Token);
        }

        public BackgroundInspector Inspector { get; }

        /// <summary>Steps the clock a second at a time (letting the workers run between steps) until <paramref name="done"/> or <paramref name="seconds"/> steps.</summary>
        public async Task AdvanceClockUntilAsync(Func<bool> done, int seconds)
        {
            for (var i = 0; i < seconds && !done(); i++)
            {
                await Task.Delay(50);
                _time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        public async ValueTask DisposeAsync()
        {
            _held.Set();
            await _stop.CancelAsync();
            await _loop.WaitAsync(Poll.Deadline);
            _stop.Dispose();
            _held.Dispose();
        }
    }
}
