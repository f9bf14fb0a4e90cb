using GpuAudit.Agent.Exporters.Http;
using Prometheus;

namespace GpuAudit.Agent.Tests.Exporters.Http;

public class ScrapeNegotiationTests
{
    private const ExpositionFormat Text = ExpositionFormat.PrometheusText;
    private const ExpositionFormat OpenMetrics = ExpositionFormat.OpenMetricsText;

    [Theory]
    // Prometheus 2.x's scrape header: OpenMetrics first, the text format as a fallback.
    [InlineData("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", new[] { OpenMetrics, Text })]
    // vmagent and older Prometheus ask for the text format.
    [InlineData("text/plain;version=0.0.4;q=1,*/*;q=0.1", new[] { Text })]
    [InlineData("*/*", new[] { Text })]
    [InlineData("", new[] { Text })]
    // Order follows q, not position.
    [InlineData("text/plain;q=0.2, application/openmetrics-text;q=0.9", new[] { OpenMetrics, Text })]
    // q=0 refuses a type; unknown versions and types are skipped.
    [InlineData("application/openmetrics-text;q=0, text/plain", new[] { Text })]
    [InlineData("application/openmetrics-text;version=2.0.0, text/plain;version=0.0.4", new[] { Text })]
    [InlineData("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", new[] { Text })]
    [InlineData("not a media type ,,;", new[] { Text })]
    public void Formats_follow_the_accept_header(string accept, ExpositionFormat[] expected)
    {
        Assert.Equal(expected, ScrapeNegotiation.From(accept, default).Formats);
    }

    [Theory]
    [InlineData("gzip", true)]
    [InlineData("gzip, deflate, br", true)]
    [InlineData("br;q=1.0, gzip;q=0.8, *;q=0.1", true)]
    [InlineData("*", true)]
    [InlineData("gzip;q=0", false)]
    [InlineData("gzip;q=0, *", false)]
    [InlineData("identity", false)]
    [InlineData("", false)]
    public void Gzip_is_used_when_accepted(string acceptEncoding, bool gzip)
    {
        Assert.Equal(gzip, ScrapeNegotiation.From(default, acceptEncoding).Gzip);
    }
}
