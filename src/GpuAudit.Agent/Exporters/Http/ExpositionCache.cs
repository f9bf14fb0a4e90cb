using System.IO.Compression;
using Prometheus;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// The exposition as it stood at the end of the last poll, rendered once and served as the same
/// bytes to every scraper. Rendering happens on the poll loop after every sink of the tick has
/// published (<see cref="ExpositionSink"/>), so a scrape sees one whole tick (never a GPU between
/// its old class series being removed and its new one added) and never waits for a poll: it
/// takes the latest snapshot. The text format is always rendered; OpenMetrics from the first
/// tick after a scraper asked for it. Gzip is computed at most once per snapshot and format, on
/// the first scrape that accepts it.
/// </summary>
public sealed class ExpositionCache
{
    private readonly CollectorRegistry _registry;
    private readonly Lock _render = new();
    private Snapshot _current;
    private volatile bool _openMetricsWanted;

    public ExpositionCache(CollectorRegistry registry)
    {
        _registry = registry;
        _current = new Snapshot(0, Body.Of(RenderFormat(ExpositionFormat.PrometheusText)), null);
    }

    /// <summary>Snapshots rendered so far (1 after the first poll).</summary>
    public long Generation => Volatile.Read(ref _current).Generation;

    /// <summary>Renders the registry as it stands now. Called by the poll loop after each tick.</summary>
    public void Render()
    {
        lock (_render)
        {
            var previous = Volatile.Read(ref _current);
            var text = Body.Of(RenderFormat(ExpositionFormat.PrometheusText));
            var openMetrics = _openMetricsWanted ? Body.Of(RenderFormat(ExpositionFormat.OpenMetricsText)) : null;
            Volatile.Write(ref _current, new Snapshot(previous.Generation + 1, text, openMetrics));
        }
    }

    /// <summary>
    /// The body for a scraper that accepts <paramref name="formats"/> (best first): the best one
    /// already rendered. A format not rendered yet is rendered from the next tick on; only a
    /// scraper that accepts nothing already rendered gets it rendered now.
    /// </summary>
    public (ExpositionFormat Format, byte[] Bytes) Get(IReadOnlyList<ExpositionFormat> formats, bool gzip)
    {
        if (formats.Count > 0 && formats[0] == ExpositionFormat.OpenMetricsText)
        {
            _openMetricsWanted = true;
        }

        var snapshot = Volatile.Read(ref _current);
        foreach (var format in formats)
        {
            if (snapshot.For(format) is { } body)
            {
                return (format, gzip ? body.Gzipped : body.Plain);
            }
        }

        var wanted = formats.Count > 0 ? formats[0] : ExpositionFormat.PrometheusText;
        var rendered = snapshot.Fill(wanted, () => Body.Of(RenderFormat(wanted)), _render);
        return (wanted, gzip ? rendered.Gzipped : rendered.Plain);
    }

    private byte[] RenderFormat(ExpositionFormat format)
    {
        using var buffer = new MemoryStream(64 * 1024);
        // The registry writes synchronously into a MemoryStream (no collect callbacks are
        // registered), so blocking here never waits on anything but the rendering itself.
        _registry.CollectAndExportAsTextAsync(buffer, format, CancellationToken.None).GetAwaiter().GetResult();
        return buffer.ToArray();
    }

    /// <summary>One rendering of one format: the bytes, and their gzip made once on demand.</summary>
    private sealed class Body
    {
        private readonly Lazy<byte[]> _gzipped;

        private Body(byte[] plain)
        {
            Plain = plain;
            _gzipped = new Lazy<byte[]>(() => Compress(plain), LazyThreadSafetyMode.ExecutionAndPublication);
        }

        public byte[] Plain { get; }

        public byte[] Gzipped => _gzipped.Value;

        public static Body Of(byte[] plain) => new(plain);

        private static byte[] Compress(byte[] plain)
        {
            using var output = new MemoryStream(plain.Length / 6);
            using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(plain);
            }

            return output.ToArray();
        }
    }

    private sealed class Snapshot(long generation, Body text, Body? openMetrics)
    {
        private Body? _openMetrics = openMetrics;

        public long Generation { get; } = generation;

        public Body? For(ExpositionFormat format) =>
            format == ExpositionFormat.OpenMetricsText ? Volatile.Read(ref _openMetrics) : text;

        public Body Fill(ExpositionFormat format, Func<Body> render, Lock gate)
        {
            lock (gate)
            {
                return For(format) ?? (_openMetrics = render());
            }
        }
    }
}
