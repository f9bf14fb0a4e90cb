using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Prometheus;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// What a scraper asked for: the exposition formats it accepts, best first, and whether it takes
/// gzip. Follows what Prometheus clients do (client_golang's negotiation): media ranges are taken
/// in order of their q value; <c>application/openmetrics-text</c> (version 1.0.0, 0.0.1 or none)
/// means OpenMetrics, <c>text/plain</c> (version 0.0.4 or none) and wildcards mean the text
/// format; anything else is skipped, and a request that names nothing usable gets the text format.
/// </summary>
public sealed record ScrapeNegotiation(IReadOnlyList<ExpositionFormat> Formats, bool Gzip)
{
    public const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private static readonly ExpositionFormat[] TextOnly = [ExpositionFormat.PrometheusText];

    public static string ContentType(ExpositionFormat format) =>
        format == ExpositionFormat.OpenMetricsText ? OpenMetricsContentType : TextContentType;

    public static ScrapeNegotiation From(StringValues accept, StringValues acceptEncoding) =>
        new(ParseFormats(accept), AcceptsGzip(acceptEncoding));

    private static ExpositionFormat[] ParseFormats(StringValues accept)
    {
        if (StringValues.IsNullOrEmpty(accept) || !MediaTypeHeaderValue.TryParseList(accept, out var ranges))
        {
            return TextOnly;
        }

        // OrderByDescending is stable: equal q values keep the client's order.
        var formats = new List<ExpositionFormat>(2);
        foreach (var range in ranges.Where(r => (r.Quality ?? 1) > 0).OrderByDescending(r => r.Quality ?? 1))
        {
            if (FormatOf(range) is { } format && !formats.Contains(format))
            {
                formats.Add(format);
            }
        }

        return formats.Count == 0 ? TextOnly : [.. formats];
    }

    private static ExpositionFormat? FormatOf(MediaTypeHeaderValue range)
    {
        var version = range.Parameters.FirstOrDefault(p => p.Name.Equals("version", StringComparison.OrdinalIgnoreCase))?.Value.Value;
        if (range.MediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase))
        {
            return version is null or "1.0.0" or "0.0.1" ? ExpositionFormat.OpenMetricsText : null;
        }

        if (range.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase))
        {
            return version is null or "0.0.4" ? ExpositionFormat.PrometheusText : null;
        }

        return range.MatchesAllTypes || range.MediaType.Equals("text/*", StringComparison.OrdinalIgnoreCase)
            ? ExpositionFormat.PrometheusText
            : null;
    }

    private static bool AcceptsGzip(StringValues acceptEncoding)
    {
        if (StringValues.IsNullOrEmpty(acceptEncoding) || !StringWithQualityHeaderValue.TryParseList(acceptEncoding, out var codings))
        {
            return false;
        }

        var gzip = codings.FirstOrDefault(c => c.Value.Equals("gzip", StringComparison.OrdinalIgnoreCase));
        var any = codings.FirstOrDefault(c => c.Value.Equals("*", StringComparison.Ordinal));
        var chosen = gzip ?? any;
        return chosen is not null && (chosen.Quality ?? 1) > 0;
    }
}
