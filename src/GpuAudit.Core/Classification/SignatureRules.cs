using System.Globalization;
using GpuAudit.Core.Features;

namespace GpuAudit.Core.Classification;

/// <summary>A class with its confidence and the readable reasons behind it.</summary>
public readonly record struct Decision(WorkloadClass Class, double Confidence, IReadOnlyList<string> Evidence);

/// <summary>
/// Turns one window's features (a GPU's or a process's) into a class. The rules follow what each
/// kind of work does to the hardware (docs/classifier.md):
/// hashing is integer-ALU or DRAM bound, uses no floating-point or tensor math, and runs closed loop
/// (almost no PCIe, static footprint, flat activity); ML always does FP or tensor math and moves
/// data; legitimate integer compute moves data over PCIe; FP64 is HPC.
/// Runs only when a verdict is due, so it may allocate its evidence strings.
/// </summary>
public static class SignatureRules
{
    /// <summary>
    /// The class and confidence now; the evidence strings only when someone reads them (the rules run
    /// again then, with the same inputs, writing their reasons), so a verdict nobody looks at costs
    /// no formatting.
    /// </summary>
    public static Decision Classify(in WindowFeatures f, ProcessIdentity identity, ClassifierOptions o) => Classify(f, identity, o, null);

    /// <summary><see cref="Classify(in WindowFeatures, ProcessIdentity, ClassifierOptions)"/> with <paramref name="firstLine"/> put before the evidence.</summary>
    internal static Decision Classify(in WindowFeatures f, ProcessIdentity identity, ClassifierOptions o, string? firstLine)
    {
        var (c, confidence) = Decide(f, identity, o, null);
        return new Decision(c, confidence, new DeferredEvidence(f, identity, o, firstLine));
    }

    /// <summary>The readable reasons behind <see cref="Classify"/>'s decision on the same inputs.</summary>
    public static IReadOnlyList<string> Explain(in WindowFeatures f, ProcessIdentity identity, ClassifierOptions o)
    {
        var evidence = new List<string>(8);
        Decide(f, identity, o, evidence);
        return evidence;
    }

    // ev null: decide only. Every ev?.Add(...) skips formatting its argument then.
    private static (WorkloadClass Class, double Confidence) Decide(in WindowFeatures f, ProcessIdentity identity, ClassifierOptions o, List<string>? ev)
    {
        if (f.BusyReadings < o.MinBusySamples)
        {
            ev?.Add(Inv($"busy in {f.BusyReadings} of {f.Readings} readings over {o.WindowSeconds:0} s (a verdict on the work needs {o.MinBusySamples})"));
            return (WorkloadClass.Idle, f.BusyReadings == 0 ? 0.9 : 0.6);
        }

        return f.BusyGpmReadings >= o.MinBusySamples
            ? FromPipeMix(f, identity, o, ev)
            : FromNvmlBasics(f, identity, o, ev);
    }

    private static (WorkloadClass Class, double Confidence) FromPipeMix(in WindowFeatures f, ProcessIdentity id, ClassifierOptions o, List<string>? ev)
    {
        // PCIe unknown (no counter, or a neighbour's traffic mixed in) neither helps nor hurts.
        var pcieKnown = !double.IsNaN(f.PcieMiBps);
        var quiet = f.PcieMiBps < o.QuietPcieMiBps;
        var staticFootprint = !(f.FootprintGrowthMiB >= o.StaticFootprintMiB);
        var flat = f.ActivityCv < o.FlatCv;
        var mix = ev is null ? string.Empty : Inv($"integer pipe {Pct(f.IntegerShare)} of SM activity while tensor {Pct(f.TensorShare)}, FP16/32 {Pct(f.FpShare)}, FP64 {Pct(f.Fp64Share)}, DRAM {Pct(f.DramShare)} over {f.BusyGpmReadings} busy readings (SM active {f.SmActivityPct:0}%)");
        ev?.Add(mix);
        var attributionNote = ev is not null && f.SoloShare < o.SoloShareForExactAttribution
            ? Inv($"shared GPU: {Pct(f.SoloShare)} of this process's SM time ran alone, numbers come from the least-squares split")
            : null;
        if (attributionNote is not null)
        {
            ev?.Add(attributionNote);
        }

        (WorkloadClass Class, double Confidence) result;
        if (f.FpShare + f.Fp64Share < o.FpSilentShare && f.TensorShare < o.TensorFreeShare)
        {
            result = MathFree(f, id, o, ev, pcieKnown, quiet, staticFootprint, flat);
        }
        else
        {
            result = WithMath(f, id, o, ev, pcieKnown, quiet);
        }

        if (id.HasHashSigns && result.Class != WorkloadClass.Hash)
        {
            ev?.Add("identity points at hashing (" + string.Join("; ", id.HashSigns) + ") but the hardware does not show it: not classifying hash from identity alone");
        }

        return result;
    }

    private static (WorkloadClass Class, double Confidence) MathFree(in WindowFeatures f, ProcessIdentity id, ClassifierOptions o, List<string>? ev, bool pcieKnown, bool quiet, bool staticFootprint, bool flat)
    {
        ev?.Add(Inv($"FP pipes silent ({Pct(f.FpShare + f.Fp64Share)} of SM activity) and no tensor math: ML, HPC and decoding always issue some FP"));
        var pcie = ev is null ? string.Empty : pcieKnown ? Inv($"PCIe {f.PcieMiBps:0.0} MiB/s") : "PCIe not attributable (other processes resident)";
        var notFed = quiet || !pcieKnown;
        if (f.IntegerShare >= o.IntegerBoundShare)
        {
            ev?.Add(Inv($"integer-ALU bound (≥ {Pct(o.IntegerBoundShare)}): the add/xor/rotate rounds of a hash"));
            var c = 0.6 + (quiet ? 0.15 : pcieKnown ? -0.1 : 0) + (flat ? 0.05 : 0) + (staticFootprint ? 0.05 : 0) + IdentityBonus(id, ev);
            ev?.Add(pcie + (quiet ? ": closed loop, no data fed in" : pcieKnown ? ": moves data, could be legitimate integer processing" : string.Empty));
            AddFlatness(f, ev, flat);
            return (WorkloadClass.Hash, Clamp(c));
        }

        if (f.DramShare >= o.MemoryBoundShare && notFed && staticFootprint)
        {
            var occupied = f.OccupancyPct >= o.HighOccupancyPct;
            ev?.Add(Inv($"memory bound (DRAM {Pct(f.DramShare)} of activity) with {pcie} and a static footprint: random reads of a resident table, nothing streamed in"));
            ev?.Add(Inv($"occupancy {f.OccupancyPct:0}% of active time") + (occupied ? ": warps packed to hide dependent random loads" : string.Empty));
            var c = 0.5 + (quiet ? 0.05 : 0) + (occupied ? 0.15 : 0) + (flat ? 0.05 : 0) + IdentityBonus(id, ev);
            AddFlatness(f, ev, flat);
            return (WorkloadClass.Hash, Clamp(c));
        }

        if (id.HasHashSigns && notFed)
        {
            ev?.Add(pcie + "; math-free, closed-loop work from a process whose identity points at hashing: " + string.Join("; ", id.HashSigns));
            return (WorkloadClass.Hash, 0.6);
        }

        if (id.HasHashSigns)
        {
            // Hashing written as framework tensor ops (int32 xor/shift/add, one small kernel each)
            // launches tens of thousands of kernels a second, and launches and syncs alone move tens
            // of MiB/s over PCIe: every recorded workload moves 7-70 MiB/s without taking any input
            // from the host. Math-free work from a process that holds hash constants is not cleared
            // by that traffic.
            ev?.Add(pcie + "; math-free work from a process whose identity points at hashing (" + string.Join("; ", id.HashSigns)
                + "): PCIe at this level is what kernel launches and syncs move, so it does not show data being processed");
            return (WorkloadClass.Hash, 0.5);
        }

        ev?.Add(pcie + (notFed ? string.Empty : ": data moves in and out, as in sorting, scans or compression") + Inv($"; integer {Pct(f.IntegerShare)} below the hash-round level {Pct(o.IntegerBoundShare)}"));
        return (WorkloadClass.Compute, notFed ? 0.55 : 0.75);
    }

    private static (WorkloadClass Class, double Confidence) WithMath(in WindowFeatures f, ProcessIdentity id, ClassifierOptions o, List<string>? ev, bool pcieKnown, bool quiet)
    {
        if (f.Fp64Share >= o.Fp64Share)
        {
            ev?.Add(Inv($"FP64 {Pct(f.Fp64Share)} of SM activity: double precision is HPC (ML does not use FP64)"));
            return (WorkloadClass.Compute, 0.8);
        }

        var excess = id.HasHashSigns ? o.IntegerExcessShareWithIdentity : o.IntegerExcessShare;
        // Only where the numbers are the process's own (it ran alone), and held by most readings (median),
        // not pushed by one reading in which a neighbour's kernels were still draining.
        if (f.IntegerShare >= excess && f.IntegerShareMedian >= excess && f.SoloShare >= o.SoloShareForExactAttribution)
        {
            ev?.Add(Inv($"integer pipe {Pct(f.IntegerShare)} of activity (median reading {Pct(f.IntegerShareMedian)}) is beyond the {Pct(excess)} that ML address arithmetic stays under: an integer-heavy component runs beside the ML math (tensor {Pct(f.TensorShare)}, FP {Pct(f.FpShare)})"));
            return (WorkloadClass.Hash, Clamp(0.55 + IdentityBonus(id, ev)));
        }

        var pcie = ev is null ? string.Empty : pcieKnown ? Inv($"PCIe {f.PcieMiBps:0.0} MiB/s") : "PCIe not attributable";
        if (f.TensorShare >= o.TensorFreeShare && f.ImmaShare >= 0.6 * f.TensorShare)
        {
            if (id.HasHashSigns && f.FpShare < o.FpSilentShare)
            {
                ev?.Add("integer tensor (IMMA) work with no FP at all from a process whose identity points at hashing: " + string.Join("; ", id.HashSigns));
                return (WorkloadClass.Hash, 0.55);
            }

            ev?.Add(Inv($"integer tensor cores (IMMA {Pct(f.ImmaShare)}): int8 quantized models, which only serve inference"));
            return (WorkloadClass.Inference, 0.65);
        }

        var framework = ev is not null && id.FrameworkLibrary is { } lib ? "; ML framework mapped (" + lib + ")" : string.Empty;
        if (f.TensorShare >= 0.4 && f.TensorShare > f.DramShare)
        {
            ev?.Add(Inv($"tensor {Pct(f.TensorShare)} above DRAM {Pct(f.DramShare)}: GEMM-bound forward passes, no backward/optimizer memory traffic") + framework);
            return (WorkloadClass.Inference, 0.6);
        }

        if (f.DramShare >= 0.6 && f.TensorShare < 0.15 && quiet)
        {
            ev?.Add(Inv($"DRAM {Pct(f.DramShare)} with little tensor work and {pcie}: memory-bound decoding") + framework);
            return (WorkloadClass.Inference, 0.5);
        }

        ev?.Add(Inv($"FP/tensor math with DRAM {Pct(f.DramShare)} and {pcie}: forward, backward and optimizer steps fed with batches") + framework);
        return (WorkloadClass.Training, 0.65 + (pcieKnown && !quiet ? 0.1 : 0) + (id.FrameworkLibrary is not null ? 0.05 : 0));
    }

    private static (WorkloadClass Class, double Confidence) FromNvmlBasics(in WindowFeatures f, ProcessIdentity id, ClassifierOptions o, List<string>? ev)
    {
        ev?.Add(Inv($"no usable GPM metrics in {f.Readings} readings (pre-Hopper GPU, MIG or failed reads): pipe mix unknown, NVML basics only, confidence capped at {o.MaxConfidenceWithoutGpm:0.00}"));
        ev?.Add(Inv($"NVML utilization {f.UtilGpuPct:0}%, memory controller {f.UtilMemPct:0}%, power {f.PowerW:0} W (variation {Pct(f.PowerCv)}), footprint growth {f.FootprintGrowthMiB:0} MiB"));
        var flat = f.PowerCv < o.FlatCv;
        if (id.HasHashSigns && flat)
        {
            ev?.Add("flat power and a process identity that points at hashing: " + string.Join("; ", id.HashSigns));
            return (WorkloadClass.Hash, o.MaxConfidenceWithoutGpm);
        }

        if (id.FrameworkLibrary is { } lib)
        {
            ev?.Add("ML framework mapped (" + lib + "): likely training or inference, cannot tell without the pipe mix");
        }

        return (WorkloadClass.Unknown, Math.Min(0.3, o.MaxConfidenceWithoutGpm));
    }

    private static double IdentityBonus(ProcessIdentity id, List<string>? ev)
    {
        if (id.HasHashSigns)
        {
            ev?.Add("identity agrees: " + string.Join("; ", id.HashSigns));
            return 0.1;
        }

        if (id.RuntimeCompiledWithoutFramework)
        {
            ev?.Add("GPU code compiled at run time (NVRTC) with no ML framework mapped");
            return 0.05;
        }

        return 0;
    }

    private static void AddFlatness(in WindowFeatures f, List<string>? ev, bool flat)
    {
        if (ev is not null && !double.IsNaN(f.ActivityCv))
        {
            ev?.Add(Inv($"activity variation {Pct(f.ActivityCv)}") + (flat ? ": one kernel, no phases" : string.Empty));
        }
    }

    private static double Clamp(double c) => Math.Clamp(c, 0, 0.97);

    private static string Pct(double share) => double.IsNaN(share) ? "n/a" : (share * 100).ToString(share < 0.1 ? "0.0" : "0", CultureInfo.InvariantCulture) + "%";

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
