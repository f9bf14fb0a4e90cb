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
        var time = new FakeTimeProvider();
        using var held = new ManualResetEventSlim();
        var inspector = new BackgroundInspector(
            pid =>
            {
                if (pid == 1)
                {
                    held.Wait();
                }

                return new ProcessInsight { Identity = new ProcessRecord { Pid = pid } };
            },
            time);
        using var stop = new CancellationTokenSource();
        var loop = inspector.RunAsync(stop.Token);

        inspector.Request(1, urgent: true);
        inspector.Request(2, urgent: true);
        for (var i = 0; i < 60 && inspector.Latest(2) is null; i++)
        {
            await Task.Delay(50);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.NotNull(inspector.Latest(2));
        Assert.Contains("did not finish within 20 s", Assert.Single(inspector.Latest(1)!.Unreadable), StringComparison.Ordinal);

        // A held pid is not queued again (another worker would only get stuck on it too).
        inspector.Request(1, urgent: true);
        held.Set();
        await stop.CancelAsync();
        await loop.WaitAsync(Poll.Deadline);
    }

    [Fact]
    public async Task Five_processes_whose_reads_the_kernel_holds_do_not_stop_inspection_of_the_next()
    {
        var time = new FakeTimeProvider();
        using var held = new ManualResetEventSlim();
        var inspector = new BackgroundInspector(
            pid =>
            {
                if (pid <= 5)
                {
                    held.Wait();
                }

                return new ProcessInsight { Identity = new ProcessRecord { Pid = pid } };
            },
            time);
        using var stop = new CancellationTokenSource();
        var loop = inspector.RunAsync(stop.Token);

        for (var pid = 1; pid <= 6; pid++)
        {
            inspector.Request(pid, urgent: true);
        }

        for (var i = 0; i < 400 && inspector.Latest(6) is null; i++)
        {
            await Task.Delay(50);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.NotNull(inspector.Latest(6));
        for (var pid = 1; pid <= 5; pid++)
        {
            Assert.Contains("did not finish within 20 s", Assert.Single(inspector.Latest(pid)!.Unreadable), StringComparison.Ordinal);
        }

        held.Set();
        await stop.CancelAsync();
        await loop.WaitAsync(Poll.Deadline);
    }
}
