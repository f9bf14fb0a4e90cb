using GpuAudit.Core.Features;
using static GpuAudit.Core.Tests.Classification.SyntheticSamples;

namespace GpuAudit.Core.Tests.Classification;

public class FeatureTests
{
    private static GpuWindow NewWindow() => new(windowSeconds: 10, capacity: 64, busySmPct: 2, busyUtilPct: 5, ridge: 0.05);

    private static void Feed(GpuWindow window, IEnumerable<GpuSample> samples)
    {
        foreach (var s in samples)
        {
            window.Add(s);
        }
    }

    [Fact]
    public void Pipe_shares_are_per_unit_of_activity_so_duty_cycle_does_not_change_them()
    {
        var full = NewWindow();
        var tenth = NewWindow();
        Feed(full, Run(Mix.Sha256, 8));
        Feed(tenth, Run(Mix.Sha256, 8, duty: 0.1));

        var a = full.DeviceFeatures();
        var b = tenth.DeviceFeatures();
        Assert.Equal(8, b.BusyGpmReadings);
        Assert.Equal(a.IntegerShare, b.IntegerShare, 6);
        Assert.Equal(a.DramShare, b.DramShare, 6);
        Assert.Equal(100.0 / 99, a.IntegerShare, 6);
        Assert.Equal(9.9, b.SmActivityPct, 6);
    }

    [Fact]
    public void Reading_with_a_missing_core_metric_is_left_out_of_the_pipe_mix()
    {
        var w = NewWindow();
        Feed(w, Run(Mix.Sha256, 3));

        // What NVML returns for two GPM samples taken too close: zeros and a NaN.
        var bogus = Mix.Idle.ToGpm();
        bogus.Set(GpmMetric.DramBwUtil, null);
        w.Add(new GpuSample { Time = T0 + 3, Gpu = 0, UtilGpuPct = 100, Gpm = bogus });

        var f = w.DeviceFeatures();
        Assert.Equal(4, f.Readings);
        Assert.Equal(3, f.GpmReadings);
        Assert.Equal(3, f.BusyGpmReadings);
        Assert.Equal(100.0 / 99, f.IntegerShare, 6);
    }

    [Fact]
    public void Readings_older_than_the_window_fall_out_of_the_sums()
    {
        var w = NewWindow();
        Feed(w, Run(Mix.Sha256, 5));
        Feed(w, Run(Mix.Idle, 12, start: 5));

        var f = w.DeviceFeatures();
        Assert.Equal(10, f.Readings);
        Assert.Equal(0, f.BusyReadings);
        Assert.True(double.IsNaN(f.IntegerShare));
    }

    [Fact]
    public void One_pcie_burst_does_not_make_a_closed_loop_window_look_fed()
    {
        var w = NewWindow();
        var i = 0;
        foreach (var s in Run(Mix.Sha256, 7))
        {
            w.Add(i++ == 3 ? Sample(3, Mix.Sha256 with { Pcie = 700 }, procs: (100, 99, 2048)) : s);
        }

        Assert.Equal(1, w.DeviceFeatures().PcieMiBps, 6);
    }

    [Fact]
    public void Footprint_growth_counts_only_while_busy()
    {
        var w = NewWindow();
        w.Add(Sample(0, Mix.Idle, memMiB: 500));
        w.Add(Sample(1, Mix.Idle, memMiB: 5000));   // the DAG or the model is allocated before work starts
        for (var t = 2; t < 6; t++)
        {
            w.Add(Sample(t, Mix.Sha256, memMiB: 5000));
        }

        Assert.Equal(0, w.DeviceFeatures().FootprintGrowthMiB);
        w.Add(Sample(6, Mix.Sha256, memMiB: 6000));
        Assert.Equal(1000, w.DeviceFeatures().FootprintGrowthMiB);
    }

    [Fact]
    public void Least_squares_split_recovers_each_process_signature_from_varying_shares()
    {
        var w = NewWindow();
        double[] hashShares = [0.2, 0.5, 0.7, 0.4, 0.6, 0.3];
        for (var t = 0; t < hashShares.Length; t++)
        {
            var h = hashShares[t];
            var mix = Mix.Transformer.Blend(Mix.Sha256, h);
            w.Add(Sample(t, mix, procs: [(1, (int)Math.Round((1 - h) * 100), 8000), (2, (int)Math.Round(h * 100), 500)]));
        }

        var device = w.DeviceFeatures();
        w.FitProcesses();
        Assert.True(w.TryProcessFeatures(1, device, out var trainer, out var trainerResidual));
        Assert.True(w.TryProcessFeatures(2, device, out var miner, out var minerResidual));
        Assert.False(trainerResidual || minerResidual); // two processes: a term each
        Assert.InRange(miner.IntegerShare, 0.9, 1.1);
        Assert.InRange(miner.TensorShare, 0, 0.03);
        Assert.InRange(trainer.IntegerShare, 0.1, 0.3);
        Assert.InRange(trainer.TensorShare, 0.18, 0.28);
        Assert.Equal(0, miner.SoloShare);
        // No per-process PCIe counter: a shared process's PCIe is the split's estimate, never unknown
        // while the device has the counter (here constant, so the split cannot tell whose it is).
        Assert.False(double.IsNaN(miner.PcieMiBps));
    }

    [Fact]
    public void Lone_process_without_per_process_samples_owns_the_device_activity()
    {
        var w = NewWindow();
        for (var t = 0; t < 4; t++)
        {
            w.Add(Sample(t, Mix.Sha256, procs: (7, null, 500)));
        }

        var device = w.DeviceFeatures();
        w.FitProcesses();
        Assert.True(w.TryProcessFeatures(7, device, out var p, out _));
        Assert.False(w.TryProcessFeatures(8, device, out _, out _)); // not in the window
        Assert.Equal(4, p.BusyReadings);
        Assert.Equal(1, p.SoloShare, 6);
        Assert.Equal(device.IntegerShare, p.IntegerShare, 2);
    }
}
