using System.Globalization;
using System.Text;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Policy;
using static GpuAudit.Core.Reporting.ReportText;

namespace GpuAudit.Core.Reporting;

/// <summary>The report as GitHub-flavoured Markdown, for tickets and chat.</summary>
public static class MarkdownReportRenderer
{
    public static string Render(JobReport report) => ToText(report, Write);

    /// <summary>Writes the report to <paramref name="output"/> as it goes (violations are streamed, not held).</summary>
    public static void Write(JobReport report, TextWriter output)
    {
        var md = new StringBuilder();
        Line(md, $"# GPU audit report: {Escape(report.Subject)}");
        Line(md);
        Line(md, $"**Verdict: {report.Headline}**");
        Line(md);
        Line(md, $"- User: {Escape(report.User ?? "unknown")}");
        Line(md, $"- Nodes: {Escape(report.Nodes.Count == 0 ? "none" : string.Join(", ", report.Nodes))}");
        Line(md, $"- GPUs: {report.Gpus.Count}");
        Line(md, $"- Wall time: {(report.FirstSeen is { } first ? $"{Duration(report.WallSeconds)} ({Time(first)} to {Time(report.LastSeen!.Value)})" : "job not seen in the window")}");
        Line(md, $"- Window: {Time(report.From)} to {Time(report.To)}");
        Line(md, $"- Source: {Escape(report.Source)}");
        foreach (var note in report.Notes)
        {
            Line(md, $"- Note: {Escape(note)}");
        }

        Line(md);
        Line(md, "## GPU time and energy by class");
        Line(md);
        Line(md, "| GPU | node | " + string.Join(" | ", WorkloadClassNames.All.Select(c => c.Label() + " GPU-s")) + " | energy | mean util |");
        Line(md, "| --- | --- | " + string.Join(" | ", WorkloadClassNames.All.Select(_ => "---:")) + " | ---: | ---: |");
        foreach (var gpu in report.Gpus)
        {
            Line(md, $"| {Escape(gpu.Uuid)} | {Escape(gpu.Node)} | {Seconds(gpu.ClassSeconds)} | {Energy(gpu.EnergyJoules)} | {Percent(gpu.MeanUtilization)} |");
        }

        Line(md, $"| **total** | | {Seconds(report.GpuSeconds)} | {Energy(report.EnergyJoules)} | |");
        Line(md);
        Line(md, "## Processes");
        Line(md);
        if (report.Processes.Count == 0)
        {
            Line(md, "No GPU process of this job was seen.");
        }
        else
        {
            Line(md, "| node | GPU | pid | comm | executable | user | verdict | seconds | mean SM |");
            Line(md, "| --- | --- | ---: | --- | --- | --- | --- | ---: | ---: |");
            foreach (var p in report.Processes)
            {
                Line(md, $"| {Escape(p.Node)} | {Escape(p.Uuid)} | {p.Pid.ToString(CultureInfo.InvariantCulture)} | {Escape(p.Comm ?? "")} | {Escape(p.Executable ?? "")} | {Escape(p.User ?? "")} | {ProcessVerdict(p.ClassSeconds)} | {Number(p.ClassSeconds.Total, "0")} | {Percent(p.MeanSmUtilization)} |");
            }
        }

        Line(md);
        if (report.Kernels.Count > 0)
        {
            // Only with the kernel ledger: reports without it keep their shape.
            Line(md, "## Kernels launched");
            Line(md);
            Line(md, "| node | pid | comm | kernel | launches | first seen | last seen | image holds |");
            Line(md, "| --- | ---: | --- | --- | ---: | --- | --- | --- |");
            foreach (var k in report.Kernels)
            {
                Line(md, $"| {Escape(k.Node)} | {k.Pid.ToString(CultureInfo.InvariantCulture)} | {Escape(k.Comm ?? "")} | {Escape(k.Kernel)} | {k.Launches.ToString(CultureInfo.InvariantCulture)} | {ReportText.Time(k.FirstSeen)} | {ReportText.Time(k.LastSeen)} | {Escape(k.HashConstants ?? "")} |");
            }

            Line(md);
        }

        Line(md, "## Violations");
        Line(md);
        WriteViolations(md, output, report.OpenViolations, report.To, "No violations.");
        Line(md, "## Allowed findings");
        Line(md);
        WriteViolations(md, output, report.AllowedFindings, report.To, "No allowed findings.");
        output.Write(md);
    }

    /// <summary>"training 95%, idle 5%": every class a process spent time in, largest first.</summary>
    public static string ProcessVerdict(ClassSeconds seconds)
    {
        var total = seconds.Total;
        return total <= 0
            ? "unknown"
            : string.Join(", ", WorkloadClassNames.All.Where(c => seconds[c] > 0).OrderByDescending(c => seconds[c])
                .Select(c => c.Label() + " " + Number(seconds[c] / total * 100, "0") + "%"));
    }

    private static void WriteViolations(StringBuilder md, TextWriter output, IEnumerable<Violation> violations, double to, string none)
    {
        var any = false;
        foreach (var v in violations)
        {
            any = true;
            ReportText.Drain(md, output);
            var pid = v.Pid is { } p ? " pid " + p.ToString(CultureInfo.InvariantCulture) : "";
            Line(md, $"### {v.Rule.Label()} ({v.Severity.Label()}) on {Escape(v.Uuid)}{pid}");
            Line(md);
            Line(md, $"- Id: `{v.Id}`");
            Line(md, $"- Node: {Escape(v.Node ?? "unknown")}; job: {Escape(v.Job ?? "none")}; user: {Escape(v.User ?? "unknown")}; executable: {Escape(v.Executable ?? "unknown")}");
            Line(md, $"- From {Time(v.Start)} to {(v.End is { } end ? Time(end) : "still open")} ({Duration(v.DurationSeconds(to))})");
            if (v.Context.Count > 0)
            {
                Line(md, $"- Run context: {Escape(string.Join(", ", v.Context))}");
            }
            if (v.AllowedBy is { } allowance)
            {
                Line(md, $"- Allowed by policy line {allowance.Line.ToString(CultureInfo.InvariantCulture)} ({Escape(allowance.Scope)}): {Escape(allowance.Reason)}");
            }

            Line(md, "- Evidence:");
            foreach (var evidence in v.Evidence)
            {
                Line(md, $"  - {Escape(evidence)}");
            }

            Line(md);
        }

        if (!any)
        {
            Line(md, none);
            Line(md);
        }
    }

    private static string Seconds(ClassSeconds seconds) =>
        string.Join(" | ", WorkloadClassNames.All.Select(c => Number(seconds[c], "0")));

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static void Line(StringBuilder md, string text = "") => md.Append(text).Append('\n');
}
