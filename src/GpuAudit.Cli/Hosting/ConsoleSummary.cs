using System.Globalization;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Pipeline;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Samples;

namespace GpuAudit.Cli.Hosting;

/// <summary>
/// A compact per-GPU, per-process view for people watching `demo` or `agent`. On a terminal it
/// redraws in place (ANSI cursor-up); redirected, it prints a block every ten ticks instead.
/// </summary>
internal sealed class ConsoleSummary(TextWriter output, bool inPlace) : IAnalysisSink
{
    /// <summary>Most violations listed; the rest are counted (the journal and /metrics hold them all).</summary>
    public const int MaxViolationLines = 8;

    private int _linesDrawn;
    private long _ticks;

    public void OnTick(TickAnalysis analysis, TimeSpan pollDuration)
    {
        _ticks++;
        if (!inPlace && _ticks % 10 != 1)
        {
            return;
        }

        var lines = Render(analysis, pollDuration);
        if (inPlace && _linesDrawn > 0)
        {
            output.Write($"\u001b[{_linesDrawn}A");
        }

        foreach (var line in lines)
        {
            output.Write(inPlace ? line + "\u001b[K\n" : line + "\n");
        }

        if (inPlace && lines.Count < _linesDrawn)
        {
            // Fewer lines than last time (a violation closed): clear what the old block left below.
            output.Write("\u001b[J");
        }

        _linesDrawn = lines.Count;
        output.Flush();
    }

    public static List<string> Render(TickAnalysis analysis, TimeSpan pollDuration)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Create(c, $"t={DateTimeOffset.FromUnixTimeMilliseconds((long)(analysis.Time * 1000)):yyyy-MM-dd HH:mm:ss}Z  analysis {pollDuration.TotalMilliseconds:F2} ms"),
            string.Create(c, $"{"GPU",-4} {"class",-10} {"conf",5} {"util",5} {"power",7} {"int",5} {"tensor",6} {"fp32",5} {"dram",5}  job"),
        };
        foreach (var gpu in analysis.Gpus)
        {
            var s = gpu.Sample;
            var gpm = s?.Gpm;
            lines.Add(string.Create(c, $"{gpu.Device.Index,-4} {Class(gpu.Verdict),-10} {Conf(gpu.Verdict),5} {Pct(s?.UtilGpuPct),5} {Watts(s?.PowerMw),7} {Pct(gpm?[GpmMetric.IntegerUtil]),5} {Pct(gpm?[GpmMetric.AnyTensorUtil]),6} {Pct(gpm?[GpmMetric.Fp32Util]),5} {Pct(gpm?[GpmMetric.DramBwUtil]),5}  {gpu.AllocatedJob?.Id ?? "-"}{(gpu.Collector.Up ? string.Empty : "  DOWN: " + gpu.Collector.Error)}"));
            foreach (var p in analysis.Processes)
            {
                if (p.Gpu != gpu.Device.Index)
                {
                    continue;
                }

                var finding = p.Insight is { Findings.Count: > 0 } insight ? insight.Findings[0] : null;
                lines.Add(string.Create(c, $"  └ pid {p.Pid,-7} {p.Identity?.Comm ?? "?",-12} {Class(p.Verdict),-10} {Conf(p.Verdict),5} sm {Pct(p.Usage.SmPct),4} mem {Mib(p.Usage.UsedMemBytes),8}{(finding is null ? string.Empty : "  ! " + finding.Detail)}"));
            }
        }

        AddViolations(lines, analysis);
        return lines;
    }

    /// <summary>The open violations (not allowed findings), oldest first: what someone watching must look at.</summary>
    private static void AddViolations(List<string> lines, TickAnalysis analysis)
    {
        var c = CultureInfo.InvariantCulture;
        var open = 0;
        foreach (var v in analysis.Policy.Active)
        {
            if (v.IsAllowed)
            {
                continue;
            }

            if (open++ == 0)
            {
                lines.Add("open violations:");
            }

            if (open <= MaxViolationLines)
            {
                var who = v.Pid is { } pid ? string.Create(c, $"pid {pid} {v.Executable ?? string.Empty}").TrimEnd() : "gpu-level";
                lines.Add(string.Create(c, $"  ! {v.Rule.Label(),-20} {v.Severity.Label(),-8} GPU {v.Gpu,-3} job {v.Job ?? "-",-12} {who}, for {v.DurationSeconds(analysis.Time):F0} s"));
            }
        }

        if (open > MaxViolationLines)
        {
            lines.Add(string.Create(c, $"  … and {open - MaxViolationLines} more (gpuaudit report --all)"));
        }
        else if (open == 0)
        {
            lines.Add("open violations: none");
        }
    }

    private static string Class(Verdict? v) => v?.Class.Label() ?? "…";

    private static string Conf(Verdict? v) => v is null ? "-" : v.Confidence.ToString("F2", CultureInfo.InvariantCulture);

    private static string Pct(double? v) => v is { } x ? x.ToString("F0", CultureInfo.InvariantCulture) + "%" : "-";

    private static string Watts(long? mw) => mw is { } x ? (x / 1000.0).ToString("F0", CultureInfo.InvariantCulture) + " W" : "-";

    private static string Mib(long? bytes) => bytes is { } b ? (b / 1048576).ToString(CultureInfo.InvariantCulture) + " MiB" : "-";
}
