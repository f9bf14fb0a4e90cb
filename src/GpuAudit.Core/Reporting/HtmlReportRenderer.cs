using System.Globalization;
using System.Net;
using System.Text;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Policy;
using static GpuAudit.Core.Reporting.ReportText;

namespace GpuAudit.Core.Reporting;

/// <summary>
/// The report as one self-contained HTML page (no external script, style or font, so it can be
/// mailed or attached to a ticket) with an inline SVG timeline per GPU: the class as coloured bands
/// and the utilization as a line.
/// </summary>
public static class HtmlReportRenderer
{
    private const int PlotWidth = 960;
    private const int BandTop = 8;
    private const int BandHeight = 28;
    private const int UtilTop = 44;
    private const int UtilHeight = 72;
    private const int PlotHeight = UtilTop + UtilHeight + 22;

    private static readonly string[] Colors = ["#cfd8dc", "#2e7d32", "#1565c0", "#6a1b9a", "#c62828", "#9e9e9e", "#ef6c00"];

    public static string ClassColor(WorkloadClass value) => Colors[(int)value];

    public static string Render(JobReport report) => ToText(report, Write);

    /// <summary>Writes the page to <paramref name="output"/> as it goes (violations are streamed, not held).</summary>
    public static void Write(JobReport report, TextWriter output)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<title>GPU audit report: ").Append(E(report.Subject)).Append("</title>\n");
        html.Append("<style>\nbody{font-family:system-ui,sans-serif;margin:2em;color:#212121;max-width:1100px}\n")
            .Append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bdbdbd;padding:.3em .6em;text-align:left}\n")
            .Append("td.n{text-align:right}.verdict{font-size:1.4em;font-weight:bold;padding:.5em;border-radius:4px}\n")
            .Append(".clean{background:#e8f5e9}.dirty{background:#ffebee}.allowed{background:#fff8e1}\n")
            .Append(".legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;width:1em;height:1em;margin-right:.3em;vertical-align:middle}\n")
            .Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>GPU audit report: ").Append(E(report.Subject)).Append("</h1>\n");
        html.Append("<p class=\"verdict ").Append(report.OpenViolations.Any() ? "dirty" : "clean").Append("\" id=\"verdict\">")
            .Append(E(report.Headline)).Append("</p>\n");
        html.Append("<ul>\n");
        Item(html, "User", report.User ?? "unknown");
        Item(html, "Nodes", report.Nodes.Count == 0 ? "none" : string.Join(", ", report.Nodes));
        Item(html, "GPUs", report.Gpus.Count.ToString(CultureInfo.InvariantCulture));
        Item(html, "Wall time", report.FirstSeen is { } first ? $"{Duration(report.WallSeconds)} ({Time(first)} to {Time(report.LastSeen!.Value)})" : "job not seen in the window");
        Item(html, "Window", $"{Time(report.From)} to {Time(report.To)}");
        Item(html, "Source", report.Source);
        foreach (var note in report.Notes)
        {
            Item(html, "Note", note);
        }

        html.Append("</ul>\n<h2>GPU time and energy by class</h2>\n<table>\n<tr><th>GPU</th><th>node</th>");
        foreach (var value in WorkloadClassNames.All)
        {
            html.Append("<th>").Append(value.Label()).Append(" GPU-s</th>");
        }

        html.Append("<th>energy</th><th>mean util</th></tr>\n");
        foreach (var gpu in report.Gpus)
        {
            html.Append("<tr><td>").Append(E(gpu.Uuid)).Append("</td><td>").Append(E(gpu.Node)).Append("</td>");
            SecondsCells(html, gpu.ClassSeconds);
            html.Append("<td class=\"n\">").Append(Energy(gpu.EnergyJoules)).Append("</td><td class=\"n\">").Append(Percent(gpu.MeanUtilization)).Append("</td></tr>\n");
        }

        html.Append("<tr><th>total</th><td></td>");
        SecondsCells(html, report.GpuSeconds);
        html.Append("<td class=\"n\">").Append(Energy(report.EnergyJoules)).Append("</td><td></td></tr>\n</table>\n");

        html.Append("<h2>Timeline</h2>\n<p class=\"legend\">");
        foreach (var value in WorkloadClassNames.All)
        {
            html.Append("<span><i style=\"background:").Append(ClassColor(value)).Append("\"></i>").Append(value.Label()).Append("</span>");
        }

        html.Append("<span><i style=\"background:#212121;height:2px\"></i>utilization</span></p>\n");
        foreach (var timeline in report.Timelines)
        {
            html.Append("<h3>").Append(E(timeline.Node)).Append(" / ").Append(E(timeline.Uuid)).Append("</h3>\n");
            Plot(html, timeline, report.From, report.To);
        }

        html.Append("<h2>Processes</h2>\n");
        if (report.Processes.Count == 0)
        {
            html.Append("<p>No GPU process of this job was seen.</p>\n");
        }
        else
        {
            html.Append("<table>\n<tr><th>node</th><th>GPU</th><th>pid</th><th>comm</th><th>executable</th><th>user</th><th>verdict</th><th>seconds</th><th>mean SM</th></tr>\n");
            foreach (var p in report.Processes)
            {
                html.Append("<tr><td>").Append(E(p.Node)).Append("</td><td>").Append(E(p.Uuid)).Append("</td><td class=\"n\">").Append(p.Pid.ToString(CultureInfo.InvariantCulture))
                    .Append("</td><td>").Append(E(p.Comm ?? "")).Append("</td><td>").Append(E(p.Executable ?? "")).Append("</td><td>").Append(E(p.User ?? ""))
                    .Append("</td><td>").Append(E(MarkdownReportRenderer.ProcessVerdict(p.ClassSeconds))).Append("</td><td class=\"n\">").Append(Number(p.ClassSeconds.Total, "0"))
                    .Append("</td><td class=\"n\">").Append(Percent(p.MeanSmUtilization)).Append("</td></tr>\n");
            }

            html.Append("</table>\n");
        }

        if (report.Kernels.Count > 0)
        {
            html.Append("<h2>Kernels launched</h2>\n<table>\n<tr><th>node</th><th>pid</th><th>comm</th><th>kernel</th><th>launches</th><th>first seen</th><th>last seen</th><th>image holds</th></tr>\n");
            foreach (var k in report.Kernels)
            {
                html.Append("<tr><td>").Append(E(k.Node)).Append("</td><td class=\"n\">").Append(k.Pid.ToString(CultureInfo.InvariantCulture))
                    .Append("</td><td>").Append(E(k.Comm ?? "")).Append("</td><td>").Append(E(k.Kernel)).Append("</td><td class=\"n\">").Append(k.Launches.ToString(CultureInfo.InvariantCulture))
                    .Append("</td><td>").Append(E(ReportText.Time(k.FirstSeen))).Append("</td><td>").Append(E(ReportText.Time(k.LastSeen))).Append("</td><td>").Append(E(k.HashConstants ?? "")).Append("</td></tr>\n");
            }

            html.Append("</table>\n");
        }

        html.Append("<h2>Violations</h2>\n");
        Violations(html, output, report.OpenViolations, report.To, "dirty", "No violations.");
        html.Append("<h2>Allowed findings</h2>\n");
        Violations(html, output, report.AllowedFindings, report.To, "allowed", "No allowed findings.");
        html.Append("</body>\n</html>\n");
        output.Write(html);
    }

    private static void Plot(StringBuilder html, GpuTimeline timeline, double from, double to)
    {
        var span = Math.Max(to - from, 1);
        string X(double t) => Number(Math.Clamp((t - from) / span, 0, 1) * PlotWidth, "0.##");

        html.Append("<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(PlotWidth).Append("\" height=\"").Append(PlotHeight)
            .Append("\" viewBox=\"0 0 ").Append(PlotWidth).Append(' ').Append(PlotHeight).Append("\" role=\"img\" aria-label=\"class and utilization of ")
            .Append(E(timeline.Uuid)).Append("\">\n");
        html.Append("<rect x=\"0\" y=\"").Append(UtilTop).Append("\" width=\"").Append(PlotWidth).Append("\" height=\"").Append(UtilHeight).Append("\" fill=\"#fafafa\" stroke=\"#e0e0e0\"/>\n");
        foreach (var point in timeline.Points)
        {
            html.Append("<rect class=\"band\" x=\"").Append(X(point.Time)).Append("\" y=\"").Append(BandTop).Append("\" width=\"")
                .Append(Number(Math.Max(Math.Clamp((point.Time + point.Seconds - from) / span, 0, 1) * PlotWidth - Math.Clamp((point.Time - from) / span, 0, 1) * PlotWidth, 0.5), "0.##"))
                .Append("\" height=\"").Append(BandHeight).Append("\" fill=\"").Append(ClassColor(point.Class)).Append("\"><title>")
                .Append(Time(point.Time)).Append(' ').Append(point.Class.Label()).Append("</title></rect>\n");
        }

        // A step line: each point holds its value over its whole span, so a job shorter than one
        // journal minute (a single point) still shows its utilization.
        var line = timeline.Points.Where(p => p.Utilization is not null)
            .SelectMany(p =>
            {
                var y = Number(UtilTop + UtilHeight - (Math.Clamp(p.Utilization!.Value, 0, 1) * UtilHeight), "0.##");
                return new[] { X(p.Time) + "," + y, X(p.Time + p.Seconds) + "," + y };
            });
        html.Append("<polyline class=\"utilization\" fill=\"none\" stroke=\"#212121\" stroke-width=\"1.5\" points=\"").Append(string.Join(' ', line)).Append("\"/>\n");
        html.Append("<text x=\"2\" y=\"").Append(UtilTop + 12).Append("\" font-size=\"11\">100%</text>\n");
        html.Append("<text x=\"0\" y=\"").Append(PlotHeight - 4).Append("\" font-size=\"11\">").Append(Time(from)).Append("</text>\n");
        html.Append("<text x=\"").Append(PlotWidth).Append("\" y=\"").Append(PlotHeight - 4).Append("\" font-size=\"11\" text-anchor=\"end\">").Append(Time(to)).Append("</text>\n");
        html.Append("</svg>\n");
    }

    private static void Violations(StringBuilder html, TextWriter output, IEnumerable<Violation> violations, double to, string css, string none)
    {
        var any = false;
        foreach (var v in violations)
        {
            any = true;
            Drain(html, output);
            html.Append("<div class=\"").Append(css).Append("\">\n<h3>").Append(v.Rule.Label()).Append(" (").Append(v.Severity.Label()).Append(") on ").Append(E(v.Uuid));
            if (v.Pid is { } pid)
            {
                html.Append(" pid ").Append(pid.ToString(CultureInfo.InvariantCulture));
            }

            html.Append("</h3>\n<ul>\n");
            Item(html, "Id", v.Id);
            Item(html, "Node", v.Node ?? "unknown");
            Item(html, "Job", v.Job ?? "none");
            Item(html, "User", v.User ?? "unknown");
            Item(html, "Executable", v.Executable ?? "unknown");
            Item(html, "Time", $"{Time(v.Start)} to {(v.End is { } end ? Time(end) : "still open")} ({Duration(v.DurationSeconds(to))})");
            if (v.Context.Count > 0)
            {
                Item(html, "Run context", string.Join(", ", v.Context));
            }
            if (v.AllowedBy is { } allowance)
            {
                Item(html, "Allowed", $"policy line {allowance.Line.ToString(CultureInfo.InvariantCulture)} ({allowance.Scope}): {allowance.Reason}");
            }

            html.Append("<li>Evidence:<ul>\n");
            foreach (var evidence in v.Evidence)
            {
                html.Append("<li>").Append(E(evidence)).Append("</li>\n");
            }

            html.Append("</ul></li>\n</ul>\n</div>\n");
        }

        if (!any)
        {
            html.Append("<p>").Append(none).Append("</p>\n");
        }
    }

    private static void SecondsCells(StringBuilder html, ClassSeconds seconds)
    {
        foreach (var value in WorkloadClassNames.All)
        {
            html.Append("<td class=\"n\">").Append(Number(seconds[value], "0")).Append("</td>");
        }
    }

    private static void Item(StringBuilder html, string name, string value) =>
        html.Append("<li><b>").Append(name).Append(":</b> ").Append(E(value)).Append("</li>\n");

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
