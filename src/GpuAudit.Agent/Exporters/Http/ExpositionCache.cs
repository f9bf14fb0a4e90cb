using System.IO.Compression;
using Prometheus;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// The exposition of the last whole tick, rendered on the first scrape after that tick and
/// served as the same bytes to every later scraper until the next tick is published.
/// <para>
/// Rendering waits for a scrape, not for a poll: a node scraped every 15 s by Prometheus renders
/// once in 15 polls, and one nobody scrapes renders nothing (rendering every poll was a quarter of
/// the agent's CPU at 1 Hz). Each rendering is of one whole tick: the poll loop brackets the
/// sinks that publish a tick (<see cref="BeginTick"/>, <see cref="EndTick"/>, called by
/// <see cref="ExpositionSink"/>), and a rendering that overlapped a publication is thrown away,
/// so a scrape never sees a GPU between its old class series being removed and its new one
/// added. A scrape that arrives while a tick is being published gets the tick before it (one
/// poll old) when that one was rendered, and otherwise waits for the publication to end (it
/// takes well under a millisecond: the bracketed sinks only set values in memory), at most
/// <see cref="MaxWait"/>.
/// </para>
/// <para>
/// Each format is rendered at most once per tick, and gzip at most once per rendering, on the
/// first scrape that accepts it.
/// </para>
/// </summary>
public sealed class ExpositionCache
{
    /// <summary>
    /// How long a scrape waits for a tick being published; past it (a publication that never
    /// ended: the poll loop is stopping) it is served what the registry holds.
    /// </summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(1);

    private static readonly ExpositionFormat[] Formats = [ExpositionFormat.PrometheusText, ExpositionFormat.OpenMetricsText];

    private readonly CollectorRegistry _registry;
    private readonly TimeProvider _time;
    private readonly Lock _render = new();
    private readonly Body[] _bodies; // by format index: the latest whole rendering of each
    private int _lastLength = 64 * 1024; // sizes the next rendering's buffer, so it is not grown and copied

    // Even while no tick is being published; BeginTick makes it odd, EndTick even again, so
    // ticks published = _publication / 2 and a rendering is whole when it is even and unchanged
    // from before the rendering to after it (a sequence lock, which never blocks the poll loop).
    private long _publication;
    private long _renderings;
    private TaskCompletionSource _tickEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ExpositionCache(CollectorRegistry registry, TimeProvider time)
    {
        _registry = registry;
        _time = time;
        _bodies = new Body[Formats.Length];
        lock (_render)
        {
            for (var i = 0; i < Formats.Length; i++)
            {
                _bodies[i] = new Body(0, RenderFormat(Formats[i]));
            }
        }
    }

    /// <summary>Ticks published so far.</summary>
    public long Generation => Volatile.Read(ref _publication) / 2;

    /// <summary>Renderings made so far, of every format (the empty registry's at start included).</summary>
    public long Renderings
    {
        get
        {
            lock (_render)
            {
                return _renderings;
            }
        }
    }

    /// <summary>The poll loop is about to publish a tick: renderings made from now on are not whole.</summary>
    public void BeginTick()
    {
        // A tick whose end never came (a sink threw past the runner) stays open: odd already.
        if ((Volatile.Read(ref _publication) & 1) == 0)
        {
            // Before the count turns odd: a scrape that sees it odd waits on this tick's end.
            Volatile.Write(ref _tickEnded, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            Interlocked.Increment(ref _publication);
        }
    }

    /// <summary>Every sink has published the tick: the next scrape renders it.</summary>
    public void EndTick()
    {
        Interlocked.Increment(ref _publication);
        Volatile.Read(ref _tickEnded).TrySetResult();
    }

    /// <summary>
    /// The body for a scraper that accepts <paramref name="formats"/> (best first): the best one,
    /// rendered now if the last whole tick is newer than its latest rendering.
    /// </summary>
    public async ValueTask<(ExpositionFormat Format, byte[] Bytes)> GetAsync(IReadOnlyList<ExpositionFormat> formats, bool gzip, CancellationToken cancellationToken)
    {
        var wanted = formats.Count > 0 ? formats[0] : ExpositionFormat.PrometheusText;
        var index = wanted == ExpositionFormat.OpenMetricsText ? 1 : 0;
        if (TryGetWhole(index, out var body, out var tickEnded))
        {
            return (wanted, gzip ? body.Gzipped : body.Plain);
        }

        try
        {
            await tickEnded.WaitAsync(MaxWait, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Served below from what the registry holds: a scrape must not hang on a stopping loop.
        }

        if (!TryGetWhole(index, out body, out _))
        {
            lock (_render)
            {
                body = new Body(-1, RenderFormat(wanted)); // not whole, so not kept for other scrapers
            }
        }

        return (wanted, gzip ? body.Gzipped : body.Plain);
    }

    /// <summary>
    /// The rendering of the last whole tick (made now if it was not yet), or of the one before it
    /// while a tick is being published; false, with the publication's end to wait for, when
    /// neither was rendered.
    /// </summary>
    private bool TryGetWhole(int index, out Body body, out Task tickEnded)
    {
        lock (_render)
        {
            body = _bodies[index];
            tickEnded = Task.CompletedTask;
            var before = Volatile.Read(ref _publication);
            if ((before & 1) == 0)
            {
                if (body.Publication != before)
                {
                    var rendered = RenderFormat(Formats[index]);
                    // Published past it meanwhile: not whole, and the older one is not the tick before.
                    if (Volatile.Read(ref _publication) != before)
                    {
                        tickEnded = Volatile.Read(ref _tickEnded).Task;
                        return false;
                    }

                    body = _bodies[index] = new Body(before, rendered);
                }

                return true;
            }

            if (body.Publication == before - 1)
            {
                return true;
            }

            tickEnded = Volatile.Read(ref _tickEnded).Task;
            return false;
        }
    }

    /// <summary>Called under <see cref="_render"/>.</summary>
    private byte[] RenderFormat(ExpositionFormat format)
    {
        using var buffer = new MemoryStream(_lastLength + (_lastLength / 8));
        // The registry writes synchronously into a MemoryStream and its before-collect callbacks
        // are synchronous (the journal's chain head), so blocking here waits on nothing else.
        _registry.CollectAndExportAsTextAsync(buffer, format, CancellationToken.None).GetAwaiter().GetResult();
        _renderings++;
        _lastLength = (int)buffer.Length;
        return buffer.ToArray();
    }

    /// <summary>One rendering of one format at one publication: the bytes, and their gzip made once on demand.</summary>
    private sealed class Body
    {
        private readonly Lazy<byte[]> _gzipped;

        public Body(long publication, byte[] plain)
        {
            Publication = publication;
            Plain = plain;
            _gzipped = new Lazy<byte[]>(() => Compress(plain), LazyThreadSafetyMode.ExecutionAndPublication);
        }

        public long Publication { get; }

        public byte[] Plain { get; }

        public byte[] Gzipped => _gzipped.Value;

        /// <summary>zlib's default level, as Go exporters send: made once per rendering at most, it is worth the bytes.</summary>
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
}
