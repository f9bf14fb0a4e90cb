using System.IO.Compression;
using System.Text;
using GpuAudit.Agent.Exporters.Http;
using Prometheus;

namespace GpuAudit.Agent.Tests.Exporters.Http;

public class ExpositionCacheTests
{
    private static readonly ExpositionFormat[] TextOnly = [ExpositionFormat.PrometheusText];
    private static readonly ExpositionFormat[] PrometheusAccept = [ExpositionFormat.OpenMetricsText, ExpositionFormat.PrometheusText];
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Every_scraper_gets_the_same_bytes_until_the_next_tick_is_published()
    {
        var (cache, gauge, _) = Published(1);

        var first = await Bytes(cache);
        gauge.Set(2); // a change not yet published as a whole tick
        var second = await Bytes(cache);

        Assert.Same(first, second);
        Assert.Contains("test_value 1\n", Encoding.UTF8.GetString(first), StringComparison.Ordinal);
        Publish(cache);
        Assert.Contains("test_value 2\n", await Text(cache), StringComparison.Ordinal);
        Assert.Equal(2, cache.Generation);
    }

    [Fact]
    public async Task Ticks_nobody_scrapes_are_not_rendered()
    {
        var (cache, gauge, _) = Published(1);
        var atStart = cache.Renderings; // the empty registry, once per format

        for (var tick = 0; tick < 15; tick++)
        {
            gauge.Set(tick);
            Publish(cache);
        }

        Assert.Equal(atStart, cache.Renderings);
        Assert.Contains("test_value 14\n", await Text(cache), StringComparison.Ordinal);
        await cache.GetAsync(TextOnly, gzip: true, CancellationToken.None);
        Assert.Equal(atStart + 1, cache.Renderings);
    }

    [Fact]
    public async Task A_scrape_while_a_tick_is_published_gets_the_tick_before_it_when_that_was_rendered()
    {
        var (cache, gauge, _) = Published(1);
        await Text(cache);

        cache.BeginTick();
        gauge.Set(2); // half-published: the old class series removed, the new one not yet added
        var during = cache.GetAsync(TextOnly, gzip: false, CancellationToken.None);
        Assert.True(during.IsCompleted);
        cache.EndTick();

        Assert.Contains("test_value 1\n", Encoding.UTF8.GetString((await during).Bytes), StringComparison.Ordinal);
        Assert.Contains("test_value 2\n", await Text(cache), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scrape_while_a_tick_is_published_waits_for_it_when_the_tick_before_was_not_rendered()
    {
        var (cache, gauge, _) = Published(1);

        cache.BeginTick();
        gauge.Set(2);
        var during = cache.GetAsync(TextOnly, gzip: false, CancellationToken.None).AsTask();
        Assert.False(during.IsCompleted);
        gauge.Set(3);
        cache.EndTick();

        Assert.Contains("test_value 3\n", Encoding.UTF8.GetString((await during.WaitAsync(Deadline)).Bytes), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tick_whose_end_never_came_holds_a_scrape_at_most_MaxWait_and_is_closed_by_the_next_one()
    {
        var (cache, gauge, clock) = Published(1);

        cache.BeginTick(); // a sink threw past the runner: no EndTick
        gauge.Set(2);
        var stalled = cache.GetAsync(TextOnly, gzip: false, CancellationToken.None).AsTask();
        Assert.False(stalled.IsCompleted);
        clock.Advance(ExpositionCache.MaxWait);
        Assert.Contains("test_value 2\n", Encoding.UTF8.GetString((await stalled.WaitAsync(Deadline)).Bytes), StringComparison.Ordinal);

        gauge.Set(3);
        Publish(cache);
        Assert.Contains("test_value 3\n", await Text(cache), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gzip_is_made_once_per_rendering_and_holds_the_same_exposition()
    {
        var (cache, _, _) = Published(42);

        var plain = (await cache.GetAsync(TextOnly, gzip: false, CancellationToken.None)).Bytes;
        var gzipped = (await cache.GetAsync(TextOnly, gzip: true, CancellationToken.None)).Bytes;

        Assert.Same(gzipped, (await cache.GetAsync(TextOnly, gzip: true, CancellationToken.None)).Bytes);
        Assert.Equal(plain, Gunzip(gzipped));
    }

    [Fact]
    public async Task Each_format_is_rendered_once_per_tick_for_the_scrapers_that_want_it()
    {
        var (cache, _, _) = Published(3);
        var atStart = cache.Renderings;

        var (format, bytes) = await cache.GetAsync(PrometheusAccept, gzip: false, CancellationToken.None);
        Assert.Same(bytes, (await cache.GetAsync(PrometheusAccept, gzip: false, CancellationToken.None)).Bytes);
        var text = await Text(cache);

        Assert.Equal(ExpositionFormat.OpenMetricsText, format);
        Assert.EndsWith("# EOF\n", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Contains("test_value 3.0\n", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Contains("test_value 3\n", text, StringComparison.Ordinal);
        Assert.Equal(atStart + 2, cache.Renderings);
    }

    [Fact]
    public async Task Before_the_first_tick_the_registry_as_it_stands_is_served()
    {
        var (registry, _) = Registry();
        var cache = new ExpositionCache(registry, new FakeTimeProvider());

        var (format, bytes) = await cache.GetAsync([ExpositionFormat.OpenMetricsText], gzip: false, CancellationToken.None);

        Assert.Equal(ExpositionFormat.OpenMetricsText, format);
        Assert.EndsWith("# EOF\n", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Equal(0, cache.Generation);
    }

    /// <summary>A cache over a registry whose test_value is <paramref name="value"/>, published as one tick.</summary>
    private static (ExpositionCache Cache, Gauge Gauge, FakeTimeProvider Clock) Published(double value)
    {
        var (registry, gauge) = Registry();
        var clock = new FakeTimeProvider();
        var cache = new ExpositionCache(registry, clock);
        gauge.Set(value);
        Publish(cache);
        return (cache, gauge, clock);
    }

    private static void Publish(ExpositionCache cache)
    {
        cache.BeginTick();
        cache.EndTick();
    }

    private static (CollectorRegistry Registry, Gauge Gauge) Registry()
    {
        var registry = Metrics.NewCustomRegistry();
        var gauge = Metrics.WithCustomRegistry(registry).CreateGauge("test_value", "A value.");
        return (registry, gauge);
    }

    /// <summary>The text format as a scraper gets it now.</summary>
    private static async Task<byte[]> Bytes(ExpositionCache cache) => (await cache.GetAsync(TextOnly, gzip: false, CancellationToken.None)).Bytes;

    private static async Task<string> Text(ExpositionCache cache) => Encoding.UTF8.GetString(await Bytes(cache));

    private static byte[] Gunzip(byte[] bytes)
    {
        using var input = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
