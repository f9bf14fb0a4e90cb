using System.Buffers.Binary;
using Prometheus;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// The journal's own health and its chain head on /metrics (docs/metrics.md, "Journal"):
/// write errors and rows waiting in memory (a full or failing disk), rows dropped when that
/// buffer is full, corrupt journals moved aside, and the head of the hash chain so that
/// Prometheus keeps an off-node record of it for <c>gpuaudit verify --prometheus</c>.
/// </summary>
public sealed class JournalMetrics
{
    private readonly Counter _writeErrors;
    private readonly Gauge _pending;
    private readonly Counter _dropped;
    private readonly Counter _corrupt;
    private readonly Gauge _headSeq;
    private readonly Gauge _headHash;
    private string? _journalId;
    private Tuple<string, ChainHead>? _head;

    public JournalMetrics(CollectorRegistry registry)
    {
        var f = Metrics.WithCustomRegistry(registry);
        _writeErrors = f.CreateCounter("gpuaudit_journal_write_errors_total", "Journal writes that failed (full disk, I/O error, corrupt file); their rows wait in memory and are written when the disk recovers.");
        _pending = f.CreateGauge("gpuaudit_journal_pending_rows", "Rows (violation openings and closings, minute summaries) waiting in memory for the journal to accept them.");
        _dropped = f.CreateCounter("gpuaudit_journal_dropped_rows_total", "Rows dropped because the in-memory buffer of unwritten rows was full, by kind (violation, summary).", new CounterConfiguration { LabelNames = ["kind"] });
        _corrupt = f.CreateCounter("gpuaudit_journal_corrupt_total", "Corrupt journals found by this run, moved aside and replaced by a new journal.");
        _headSeq = f.CreateGauge("gpuaudit_journal_chain_head_seq", "Sequence number of the newest row of the journal's hash chain.", new GaugeConfiguration { LabelNames = ["journal_id"], SuppressInitialValue = true });
        _headHash = f.CreateGauge("gpuaudit_journal_chain_head_hash", "Hash of the newest row of the journal's hash chain: bits 0-47 (part 0) and 48-95 (part 1) as integers.", new GaugeConfiguration { LabelNames = ["journal_id", "part"], SuppressInitialValue = true });
        foreach (var kind in new[] { "violation", "summary" })
        {
            _dropped.WithLabels(kind).Publish();
        }

        // The head's seq and hash are set together just before each scrape is collected, from
        // one snapshot: a scrape never pairs one row's seq with another row's hash.
        registry.AddBeforeCollectCallback(PublishHead);
    }

    internal void WriteError() => _writeErrors.Inc();

    internal void Pending(int rows) => _pending.Set(rows);

    internal void Dropped(string kind, int rows) => _dropped.WithLabels(kind).Inc(rows);

    internal void Corrupt() => _corrupt.Inc();

    /// <summary>Records the head for the next scrape (called on the poll loop after each write).</summary>
    internal void Head(string journalId, ChainHead head) => Volatile.Write(ref _head, Tuple.Create(journalId, head));

    private void PublishHead()
    {
        if (Volatile.Read(ref _head) is not { } snapshot)
        {
            return;
        }

        var (journalId, head) = snapshot;

        lock (_headSeq)
        {
            // A new journal id (a corrupt journal moved aside) replaces the old series.
            if (_journalId is { } old && old != journalId)
            {
                _headSeq.RemoveLabelled(old);
                _headHash.RemoveLabelled(old, "0");
                _headHash.RemoveLabelled(old, "1");
            }

            _journalId = journalId;
            var (part0, part1) = HashParts(head.Hash);
            _headSeq.WithLabels(journalId).Set(head.Seq);
            _headHash.WithLabels(journalId, "0").Set(part0);
            _headHash.WithLabels(journalId, "1").Set(part1);
        }
    }

    /// <summary>The first 96 bits of a row hash as two 48-bit integers (a double holds 53 bits exactly).</summary>
    public static (long Part0, long Part1) HashParts(ReadOnlySpan<byte> hash)
    {
        Span<byte> buffer = stackalloc byte[8];
        buffer.Clear();
        hash[..6].CopyTo(buffer[2..]);
        var part0 = BinaryPrimitives.ReadInt64BigEndian(buffer);
        hash[6..12].CopyTo(buffer[2..]);
        return (part0, BinaryPrimitives.ReadInt64BigEndian(buffer));
    }
}
