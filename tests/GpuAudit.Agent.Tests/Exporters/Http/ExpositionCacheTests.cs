using System.IO.Compression;
using System.Text;
using GpuAudit.Agent.Exporters.Http;
using Prometheus;

namespace GpuAudit.Agent.Tests.Exporters.Http;

public class ExpositionCacheTests
{
    private static readonly ExpositionFormat[] TextOnly = [ExpositionFormat.PrometheusText];
    private static readonly ExpositionFormat[] PrometheusAccept = [ExpositionFormat.OpenMetricsText, ExpositionFormat.PrometheusText];

    [Fact]
    public void Every_scraper_gets_the_same_bytes_until_the_next_poll_renders()
    {
        var (cache, gauge) = Rendered(1);

        var first = cache.Get(TextOnly, gzip: false).Bytes;
        gauge.Set(2); // mid-tick change: not visible until the tick's render
        var second = cache.Get(TextOnly, gzip: false).Bytes;

        Assert.Same(first, second);
        Assert.Contains("test_value 1\n", Text(first), StringComparison.Ordinal);
        cache.Render();
        Assert.Contains("test_value 2\n", Text(cache.Get(TextOnly, gzip: false).Bytes), StringComparison.Ordinal);
        Assert.Equal(2, cache.Generation);
    }

    [Fact]
    public void Gzip_is_made_once_per_poll_and_holds_the_same_exposition()
    {
        var (cache, _) = Rendered(42);

        var plain = cache.Get(TextOnly, gzip: false).Bytes;
        var gzipped = cache.Get(TextOnly, gzip: true).Bytes;

        Assert.Same(gzipped, cache.Get(TextOnly, gzip: true).Bytes);
        Assert.Equal(plain, Gunzip(gzipped));
    }

    [Fact]
    public void OpenMetrics_is_rendered_from_the_poll_after_a_scraper_asked_for_it()
    {
        var (cache, _) = Rendered(3);

        // The first Prometheus scrape also accepts the text format, which is ready: no render on the scrape.
        Assert.Equal(ExpositionFormat.PrometheusText, cache.Get(PrometheusAccept, gzip: false).Format);
        cache.Render();
        var (format, bytes) = cache.Get(PrometheusAccept, gzip: false);

        Assert.Equal(ExpositionFormat.OpenMetricsText, format);
        Assert.EndsWith("# EOF\n", Text(bytes), StringComparison.Ordinal);
        Assert.Contains("test_value 3.0\n", Text(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void Only_formats_in_use_are_rendered_each_poll()
    {
        var (registry, gauge) = Registry();
        var clock = new FakeTimeProvider();
        var cache = new ExpositionCache(registry, clock);
        cache.Get(PrometheusAccept, gzip: false);
        gauge.Set(5);
        cache.Render();

        // Only Prometheus scrapes: the text format is not rendered any more; a curl gets one made for it.
        var (format, text) = cache.Get(TextOnly, gzip: false);
        Assert.Equal(ExpositionFormat.PrometheusText, format);
        Assert.Contains("test_value 5\n", Text(text), StringComparison.Ordinal);
        Assert.Same(text, cache.Get(TextOnly, gzip: false).Bytes);

        // Ten minutes after the last scrape of each, neither format is in use: the text format is kept fresh.
        clock.Advance(ExpositionCache.InUse + TimeSpan.FromSeconds(1));
        gauge.Set(6);
        cache.Render();
        Assert.Contains("test_value 6\n", Text(cache.Get(TextOnly, gzip: false).Bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void A_scraper_that_accepts_only_OpenMetrics_gets_it_at_once()
    {
        var (registry, _) = Registry();
        var cache = new ExpositionCache(registry);

        var (format, bytes) = cache.Get([ExpositionFormat.OpenMetricsText], gzip: false);

        Assert.Equal(ExpositionFormat.OpenMetricsText, format);
        Assert.Same(bytes, cache.Get([ExpositionFormat.OpenMetricsText], gzip: false).Bytes);
    }

    /// <summary>A cache over a registry whose test_value is <paramref name="value"/>, rendered by one poll.</summary>
    private static (ExpositionCache Cache, Gauge Gauge) Rendered(double value)
    {
        var (registry, gauge) = Registry();
        var cache = new ExpositionCache(registry);
        gauge.Set(value);
        cache.Render();
        return (cache, gauge);
    }

    private static (CollectorRegistry Registry, Gauge Gauge) Registry()
    {
        var registry = Metrics.NewCustomRegistry();
        var gauge = Metrics.WithCustomRegistry(registry).CreateGauge("test_value", "A value.");
        return (registry, gauge);
    }

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    private static byte[] Gunzip(byte[] bytes)
    {
        using var input = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
