using System.Globalization;

namespace GpuAudit.Agent.Reporting;

/// <summary>
/// Range queries against a Prometheus HTTP API (<c>report --prometheus</c>, <c>verify --prometheus</c>):
/// every way the server can fail the query is a <see cref="UserInputException"/> naming its URL.
/// </summary>
internal static class PrometheusQuery
{
    /// <summary>The series of <c>/api/v1/query_range</c> for <paramref name="query"/> over [start, end] every <paramref name="step"/> seconds.</summary>
    public static async Task<IReadOnlyList<PrometheusSeries>> RangeAsync(HttpClient http, Uri baseUrl, string query, double start, double end, double step, CancellationToken cancellationToken)
    {
        var url = new Uri(baseUrl, "api/v1/query_range?query=" + Uri.EscapeDataString(query)
            + "&start=" + Number(start) + "&end=" + Number(end) + "&step=" + Number(step));
        string body;
        try
        {
            using var response = await http.GetAsync(url, cancellationToken);
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new UserInputException($"cannot reach Prometheus at {baseUrl} ({e.Message}); check the URL", e) { Input = UserInput.Prometheus };
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UserInputException($"Prometheus at {baseUrl} did not answer in time; check the URL", e) { Input = UserInput.Prometheus };
        }

        try
        {
            return PrometheusSeries.ParseMatrix(body);
        }
        catch (PrometheusQueryException e)
        {
            throw new UserInputException($"Prometheus at {baseUrl} refused {query}: {e.Message}; check that the URL points at Prometheus itself", e) { Input = UserInput.Prometheus };
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new UserInputException($"{baseUrl} did not answer like the Prometheus HTTP API ({e.Message}); check the URL", e) { Input = UserInput.Prometheus };
        }
    }

    /// <summary>A label matcher <c>{name="value"}</c>, the value escaped for a PromQL double-quoted string.</summary>
    public static string Matcher(string name, string value) =>
        "{" + name + "=\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"}";

    /// <summary>A time or step as the HTTP API takes it (seconds, at most 3 decimals).</summary>
    public static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
