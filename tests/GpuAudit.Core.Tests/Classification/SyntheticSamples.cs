namespace GpuAudit.Core.Tests.Classification;

/// <summary>
/// Builds samples with a chosen pipe mix, for feature and rule tests on workloads that are not in
/// the recordings. Pipe values are given at full activity and scaled by <c>duty</c>, the way a
/// duty-cycled kernel shows in a 1 s GPM interval.
/// </summary>
internal sealed record Mix(
    double Sm = 0, double Integer = 0, double Tensor = 0, double Imma = 0, double Dfma = 0,
    double Fp16 = 0, double Fp32 = 0, double Fp64 = 0, double Dram = 0, double Occupancy = 0, double Pcie = 0)
{
    public static Mix Idle { get; } = new();

    // Shapes of real work, at full duty (from what each does to the pipes; see docs/classifier.md).
    public static Mix Sha256 { get; } = new(Sm: 99, Integer: 100, Dram: 5, Occupancy: 78, Pcie: 1);

    public static Mix Transformer { get; } = new(Sm: 82, Integer: 16, Tensor: 19, Fp32: 2, Dram: 53, Occupancy: 44, Pcie: 75);

    public static Mix Decode { get; } = new(Sm: 90, Integer: 8, Tensor: 2, Fp32: 2.5, Fp16: 0.5, Dram: 88, Occupancy: 30, Pcie: 2);

    public static Mix Fp64Hpc { get; } = new(Sm: 95, Integer: 10, Tensor: 40, Dfma: 40, Fp64: 30, Dram: 30, Occupancy: 40, Pcie: 5);

    /// <summary>Time-slices two mixes: <paramref name="fraction"/> of the interval runs <paramref name="other"/>.</summary>
    public Mix Blend(Mix other, double fraction) => new(
        (Sm * (1 - fraction)) + (other.Sm * fraction),
        (Integer * (1 - fraction)) + (other.Integer * fraction),
        (Tensor * (1 - fraction)) + (other.Tensor * fraction),
        (Imma * (1 - fraction)) + (other.Imma * fraction),
        (Dfma * (1 - fraction)) + (other.Dfma * fraction),
        (Fp16 * (1 - fraction)) + (other.Fp16 * fraction),
        (Fp32 * (1 - fraction)) + (other.Fp32 * fraction),
        (Fp64 * (1 - fraction)) + (other.Fp64 * fraction),
        (Dram * (1 - fraction)) + (other.Dram * fraction),
        (Occupancy * (1 - fraction)) + (other.Occupancy * fraction),
        Math.Max(Pcie, other.Pcie));

    public GpmMetrics ToGpm(double duty = 1)
    {
        var g = new GpmMetrics();
        g.Set(GpmMetric.SmUtil, Sm * duty);
        g.Set(GpmMetric.GraphicsUtil, Sm * duty);
        g.Set(GpmMetric.SmOccupancy, Occupancy * duty);
        g.Set(GpmMetric.IntegerUtil, Integer * duty);
        g.Set(GpmMetric.AnyTensorUtil, Tensor * duty);
        g.Set(GpmMetric.ImmaTensorUtil, Imma * duty);
        g.Set(GpmMetric.DfmaTensorUtil, Dfma * duty);
        g.Set(GpmMetric.HmmaTensorUtil, Math.Max(0, Tensor - Imma - Dfma) * duty);
        g.Set(GpmMetric.Fp16Util, Fp16 * duty);
        g.Set(GpmMetric.Fp32Util, Fp32 * duty);
        g.Set(GpmMetric.Fp64Util, Fp64 * duty);
        g.Set(GpmMetric.DramBwUtil, Dram * duty);
        g.Set(GpmMetric.PcieTxPerSec, Pcie / 2);
        g.Set(GpmMetric.PcieRxPerSec, Pcie / 2);
        g.Set(GpmMetric.NvlinkTotalRxPerSec, 0);
        g.Set(GpmMetric.NvlinkTotalTxPerSec, 0);
        return g;
    }
}

internal static class SyntheticSamples
{
    public const double T0 = 1_800_000_000;

    /// <summary>One sample at second <paramref name="second"/>; <paramref name="procs"/> as (pid, SM percent or null, MiB).</summary>
    public static GpuSample Sample(double second, Mix mix, double duty = 1, bool gpm = true, long memMiB = 4096, params (int Pid, int? SmPct, long MiB)[] procs) => new()
    {
        Time = T0 + second,
        Gpu = 0,
        UtilGpuPct = (int)Math.Round(Math.Min(100, mix.Sm * duty * 1.05)),
        UtilMemPct = (int)Math.Round(mix.Dram * duty),
        MemUsedBytes = memMiB << 20,
        PowerMw = 70_000 + (long)(500_000 * duty * mix.Sm / 100),
        Gpm = gpm ? mix.ToGpm(duty) : null,
        Procs = [.. procs.Select(p => new ProcessUsage(p.Pid, p.MiB << 20, p.SmPct, null))],
    };

    /// <summary><paramref name="seconds"/> 1 Hz samples of one process running <paramref name="mix"/>.</summary>
    public static IEnumerable<GpuSample> Run(Mix mix, int seconds, double duty = 1, int pid = 100, bool gpm = true, double start = 0) =>
        Enumerable.Range(0, seconds).Select(i => Sample(start + i, mix, duty, gpm, 4096, (pid, (int)Math.Round(mix.Sm * duty), 2048)));
}
