using System.Globalization;
using System.Text.Json;

namespace GpuAudit.Agent.Reporting;

/// <summary>One series of a Prometheus range-query answer: its labels and (time, value) points.</summary>
public sealed record PrometheusSeries(IReadOnlyDictionary<string, string> Labels, IReadOnlyList<(double Time, double Value)> Points)
{
    public string Label(string name) => Labels.GetValueOrDefault(name, "");

    /// <summary>
    /// How much a counter grew over the points, across resets (an agent restart starts at zero):
    /// what PromQL's increase() does, without its extrapolation.
    /// </summary>
    public double Increase()
    {
        var total = 0.0;
        for (var i = 1; i < Points.Count; i++)
        {
            var delta = Points[i].Value - Points[i - 1].Value;
            total += delta >= 0 ? delta : Points[i].Value;
        }

        return total;
    }

    /// <summary>Parses a /api/v1/query_range answer (resultType matrix).</summary>
    public static IReadOnlyList<PrometheusSeries> ParseMatrix(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            var error = root.TryGetProperty("error", out var e) ? e.GetString() : "unknown error";
            throw new PrometheusQueryException(error ?? "unknown error");
        }

        var series = new List<PrometheusSeries>();
        foreach (var item in root.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = item.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
            var points = item.GetProperty("values").EnumerateArray()
                .Select(v => (v[0].GetDouble(), double.Parse(v[1].GetString() ?? "NaN", NumberStyles.Float, CultureInfo.InvariantCulture)))
                .Where(p => double.IsFinite(p.Item2))
                .ToList();
            series.Add(new PrometheusSeries(labels, points));
        }

        return series;
    }
}
