using System.Globalization;

namespace GpuAudit.Core.Reporting;

/// <summary>Formatting shared by the renderers, so every format says the same numbers the same way.</summary>
public static class ReportText
{
    public static bool TryParseFormat(string? text, out ReportFormat format)
    {
        format = text switch
        {
            "md" or "markdown" => ReportFormat.Markdown,
            "html" => ReportFormat.Html,
            "json" => ReportFormat.Json,
            _ => (ReportFormat)(-1),
        };
        return Enum.IsDefined(format);
    }

    public static string Render(JobReport report, ReportFormat format) => format switch
    {
        ReportFormat.Markdown => MarkdownReportRenderer.Render(report),
        ReportFormat.Html => HtmlReportRenderer.Render(report),
        _ => JsonReportRenderer.Render(report),
    };

    /// <summary>
    /// Writes the report to <paramref name="output"/> (UTF-8) as it is rendered: the violations
    /// go out one by one, so memory does not grow with their number.
    /// </summary>
    public static void Write(JobReport report, ReportFormat format, Stream output)
    {
        if (format == ReportFormat.Json)
        {
            JsonReportRenderer.Write(report, output);
            return;
        }

        using var writer = new StreamWriter(output, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 64 * 1024, leaveOpen: true);
        if (format == ReportFormat.Markdown)
        {
            MarkdownReportRenderer.Write(report, writer);
        }
        else
        {
            HtmlReportRenderer.Write(report, writer);
        }
    }

    /// <summary>What a text renderer's <paramref name="write"/> makes of the report, as one string.</summary>
    internal static string ToText(JobReport report, Action<JobReport, TextWriter> write)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        write(report, output);
        return output.ToString();
    }

    /// <summary>Moves what a renderer built so far to <paramref name="output"/> once it is large, so it never holds the whole report.</summary>
    internal static void Drain(System.Text.StringBuilder text, TextWriter output)
    {
        if (text.Length >= 32 * 1024)
        {
            output.Write(text);
            text.Clear();
        }
    }

    /// <summary>ISO 8601 UTC to the second.</summary>
    public static string Time(double unixSeconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(unixSeconds * 1000)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Duration(double seconds)
    {
        var span = TimeSpan.FromSeconds(Math.Round(seconds));
        return span.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h {span.Minutes:00}m {span.Seconds:00}s")
            : span.TotalMinutes >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}m {span.Seconds:00}s") : string.Create(CultureInfo.InvariantCulture, $"{span.Seconds}s");
    }

    public static string Number(double value, string format = "0.0") => value.ToString(format, CultureInfo.InvariantCulture);

    public static string Percent(double? ratio) => ratio is { } r ? Number(r * 100, "0") + "%" : "n/a";

    /// <summary>Energy in the largest readable unit.</summary>
    public static string Energy(double joules) => joules >= 3.6e6
        ? Number(joules / 3.6e6, "0.00") + " kWh"
        : joules >= 3600 ? Number(joules / 3600, "0.00") + " Wh" : Number(joules, "0") + " J";
}
