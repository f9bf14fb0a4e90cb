using System.IO.Compression;
using Prometheus;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// The exposition as it stood at the end of the last poll, rendered once and served as the same
/// bytes to every scraper. Rendering happens on the poll loop after every sink of the tick has
/// published (<see cref="ExpositionSink"/>), so a scrape sees one whole tick (never a GPU between
/// its old class series being removed and its new one added) and never waits for a poll: it
/// takes the latest snapshot.
/// <para>
/// Only formats in use are rendered: those some scraper asked for in the last
/// <see cref="InUse"/> (Prometheus asks for OpenMetrics, vmagent and curl for the text format),
/// and the text format while nobody scrapes. A scraper whose format is not rendered yet gets
/// another format it accepts, or, accepting none, a rendering made for it; its format is
/// rendered from the next poll on. Gzip is made at most once per snapshot and format, on the
/// first scrape that accepts it. So the cost per poll is one rendering in the usual set-up.
/// </para>
/// </summary>
public sealed class ExpositionCache
{
    /// <summary>How long a format stays rendered after the last scraper that asked for it.</summary>
    public static readonly TimeSpan InUse = TimeSpan.FromMinutes(10);

    private static readonly ExpositionFormat[] Formats = [ExpositionFormat.PrometheusText, ExpositionFormat.OpenMetricsText];

    private readonly CollectorRegistry _registry;
    private readonly TimeProvider _time;
    private readonly Lock _render = new();
    private readonly long[] _lastAsked = new long[2]; // timestamps; 0: never asked
    private Snapshot _current;

    public ExpositionCache(CollectorRegistry registry, TimeProvider? time = null)
    {
        _registry = registry;
        _time = time ?? TimeProvider.System;
        _current = new Snapshot(0, [Body.Of(RenderFormat(ExpositionFormat.PrometheusText)), null]);
    }

    /// <summary>Snapshots rendered so far (1 after the first poll).</summary>
    public long Generation => Volatile.Read(ref _current).Generation;

    /// <summary>Renders the formats in use as the registry stands now. Called by the poll loop after each tick.</summary>
    public void Render()
    {
        lock (_render)
        {
            var now = _time.GetTimestamp();
            var bodies = new Body?[Formats.Length];
            var any = false;
            for (var i = 0; i < Formats.Length; i++)
            {
                var asked = Volatile.Read(ref _lastAsked[i]);
                if (asked != 0 && _time.GetElapsedTime(asked, now) <= InUse)
                {
                    bodies[i] = Body.Of(RenderFormat(Formats[i]));
                    any = true;
                }
            }

            // Nobody scraped lately: keep the text format fresh for whoever comes first.
            if (!any)
            {
                bodies[0] = Body.Of(RenderFormat(ExpositionFormat.PrometheusText));
            }

            Volatile.Write(ref _current, new Snapshot(Volatile.Read(ref _current).Generation + 1, bodies));
        }
    }

    /// <summary>
    /// The body for a scraper that accepts <paramref name="formats"/> (best first): the best one
    /// rendered at the last poll, else one rendered now.
    /// </summary>
    public (ExpositionFormat Format, byte[] Bytes) Get(IReadOnlyList<ExpositionFormat> formats, bool gzip)
    {
        var wanted = formats.Count > 0 ? formats[0] : ExpositionFormat.PrometheusText;
        Volatile.Write(ref _lastAsked[Index(wanted)], _time.GetTimestamp());
        var snapshot = Volatile.Read(ref _current);
        foreach (var format in formats)
        {
            if (snapshot.Bodies[Index(format)] is { } body)
            {
                return (format, gzip ? body.Gzipped : body.Plain);
            }
        }

        var rendered = snapshot.Fill(Index(wanted), () => Body.Of(RenderFormat(wanted)), _render);
        return (wanted, gzip ? rendered.Gzipped : rendered.Plain);
    }

    private static int Index(ExpositionFormat format) => format == ExpositionFormat.OpenMetricsText ? 1 : 0;

    private byte[] RenderFormat(ExpositionFormat format)
    {
        using var buffer = new MemoryStream(64 * 1024);
        // The registry writes synchronously into a MemoryStream and its before-collect callbacks
        // are synchronous (the journal's chain head), so blocking here waits on nothing else.
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

        /// <summary>zlib's default level, as Go exporters send: made once per poll at most, it is worth the bytes.</summary>
        private static byte[] Compress(byte[] plain)
        {
            using var output = new MemoryStream(plain.Length / 6);
            using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
            {
                gzip.Write(plain);
            }

            return output.ToArray();
        }
    }

    /// <summary>The renderings of one poll, by format index; a missing one may be filled in once.</summary>
    private sealed class Snapshot(long generation, Body?[] bodies)
    {
        public long Generation { get; } = generation;

        public Body?[] Bodies { get; } = bodies;

        public Body Fill(int index, Func<Body> render, Lock gate)
        {
            lock (gate)
            {
                return Volatile.Read(ref Bodies[index]) ?? (Bodies[index] = render());
            }
        }
    }
}
