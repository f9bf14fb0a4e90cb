using System.Globalization;
using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Journal;

/// <summary>A chain head as Prometheus recorded it: when, the seq, and the first 96 bits of the hash (<see cref="JournalMetrics.HashParts"/>).</summary>
public sealed record HeadSample(double Time, long Seq, long Part0, long Part1);

/// <summary>One problem <c>gpuaudit verify</c> found: what (edited, deleted, truncated, rewritten, dangling), where, and a sentence.</summary>
public sealed record VerifyProblem(string Kind, long Seq, string Message);

/// <summary>What <see cref="JournalVerifier.Verify"/> found.</summary>
public sealed record VerifyResult
{
    public required string? JournalId { get; init; }

    /// <summary>Chained rows read.</summary>
    public required long Rows { get; init; }

    public required ChainHead Head { get; init; }

    /// <summary>Rows missing because retention pruned them (not problems).</summary>
    public required long Pruned { get; init; }

    /// <summary>Process summary rows of the current period, not yet in the chain.</summary>
    public required long Pending { get; init; }

    /// <summary>Off-node head samples checked (0 without --prometheus).</summary>
    public required int SamplesChecked { get; init; }

    public required IReadOnlyList<VerifyProblem> Problems { get; init; }

    public bool Intact => Problems.Count == 0;
}

/// <summary>
/// Checks a journal's hash chain (docs/threat-model.md): every row's content must hash to the
/// prev that the next row carries (else it was edited); seqs must follow each other (else rows
/// were deleted), except below the newest row a retention prune recorded; rows must not refer
/// to deleted ones. Edits that rewrote the chain consistently, and rows cut from its end, are
/// found only against an off-node record of the head: the heads Prometheus scraped.
/// </summary>
public static class JournalVerifier
{
    public static VerifyResult Verify(JournalReader journal, IReadOnlyList<HeadSample>? offNode = null)
    {
        var connection = journal.Connection;
        var problems = new List<VerifyProblem>();
        var prunedThrough = JournalWriter.Scalar(connection, "SELECT max(through_seq) FROM prunes") is long p ? p : 0;
        var wanted = offNode?.Select(s => s.Seq).ToHashSet() ?? [];
        var hashes = new Dictionary<long, (byte[] Hash, string Key)>();
        var readers = JournalSchema.Chained.Select(t => new ChainRowReader(connection, t, 0)).ToList();
        long rows = 0;
        long pruned = 0;
        ChainRow? previous = null;
        try
        {
            var queue = new PriorityQueue<(ChainRowReader Reader, ChainRow Row), long>();
            foreach (var reader in readers)
            {
                if (reader.Read() is { } first)
                {
                    queue.Enqueue((reader, first), first.Seq);
                }
            }

            while (queue.TryDequeue(out var item, out _))
            {
                var row = item.Row;
                if (item.Reader.Read() is { } next)
                {
                    queue.Enqueue((item.Reader, next), next.Seq);
                }

                rows++;
                var expected = (previous?.Seq ?? 0) + 1;
                if (row.Seq == expected)
                {
                    var prevHash = previous?.Hash ?? RowHash.Genesis;
                    if (!row.Prev.AsSpan().SequenceEqual(prevHash))
                    {
                        problems.Add(previous is null
                            ? new VerifyProblem("edited", row.Seq, $"{row.Key}: the first row's link was changed")
                            : new VerifyProblem("edited", previous.Seq, $"{previous.Key} was changed after it was written: it no longer hashes to the link that row {row.Seq} carries"));
                    }
                }
                else if (row.Seq > expected)
                {
                    var lastPruned = Math.Min(row.Seq - 1, prunedThrough);
                    pruned += Math.Max(0, lastPruned - expected + 1);
                    var firstDeleted = Math.Max(expected, prunedThrough + 1);
                    if (firstDeleted <= row.Seq - 1)
                    {
                        var span = firstDeleted == row.Seq - 1 ? $"row {firstDeleted}" : $"rows {firstDeleted}-{row.Seq - 1}";
                        problems.Add(new VerifyProblem("deleted", firstDeleted,
                            $"{span} deleted (after {previous?.Key ?? "the start"}, before {row.Key}); no retention prune covers them"));
                    }
                }
                else
                {
                    problems.Add(new VerifyProblem("edited", row.Seq, $"{row.Key}: seq {row.Seq} appears twice"));
                }

                if (wanted.Contains(row.Seq))
                {
                    hashes[row.Seq] = (row.Hash, row.Key);
                }

                previous = row;
            }
        }
        finally
        {
            foreach (var reader in readers)
            {
                reader.Dispose();
            }
        }

        problems.AddRange(Dangling(connection));
        var head = previous is null ? ChainHead.Empty : new ChainHead(previous.Seq, previous.Hash);
        var checkedSamples = offNode is null ? 0 : CheckOffNode(offNode, hashes, head, prunedThrough, problems);
        return new VerifyResult
        {
            JournalId = JournalWriter.Scalar(connection, "SELECT journal_id FROM runs ORDER BY seq LIMIT 1") as string,
            Rows = rows,
            Head = head,
            Pruned = pruned,
            Pending = JournalWriter.Scalar(connection, "SELECT count(*) FROM process_pending") is long n ? n : 0,
            SamplesChecked = checkedSamples,
            Problems = problems,
        };
    }

    /// <summary>Rows that refer to a row no longer there: the referenced row was deleted (retention never deletes a referenced row).</summary>
    private static IEnumerable<VerifyProblem> Dangling(SqliteConnection connection)
    {
        (string Sql, string Message)[] checks =
        [
            ("SELECT e.seq, e.id FROM violation_ends e WHERE NOT EXISTS (SELECT 1 FROM violations v WHERE v.id = e.id)", "violation {1} was deleted: its end (row {0}) is still there"),
            ("SELECT m.seq, m.gpu_ref FROM gpu_minutes m WHERE NOT EXISTS (SELECT 1 FROM gpus g WHERE g.seq = m.gpu_ref)", "GPU row {1} was deleted: gpu_minutes row {0} refers to it"),
            ("SELECT m.seq, m.gpu_ref FROM job_minutes m WHERE NOT EXISTS (SELECT 1 FROM gpus g WHERE g.seq = m.gpu_ref)", "GPU row {1} was deleted: job_minutes row {0} refers to it"),
            ("SELECT m.seq, m.gpu_ref FROM job_diverted m WHERE NOT EXISTS (SELECT 1 FROM gpus g WHERE g.seq = m.gpu_ref)", "GPU row {1} was deleted: job_diverted row {0} refers to it"),
            ("SELECT p.seq, p.gpu_ref FROM processes p WHERE NOT EXISTS (SELECT 1 FROM gpus g WHERE g.seq = p.gpu_ref)", "GPU row {1} was deleted: processes row {0} refers to it"),
            ("SELECT r.seq, r.process_ref FROM process_periods r WHERE NOT EXISTS (SELECT 1 FROM processes p WHERE p.seq = r.process_ref)", "process row {1} was deleted: process_periods row {0} refers to it"),
        ];
        var problems = new List<VerifyProblem>();
        foreach (var (sql, message) in checks)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql + " ORDER BY 1 LIMIT 20";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var seq = reader.GetInt64(0);
                problems.Add(new VerifyProblem("deleted", seq, string.Format(CultureInfo.InvariantCulture, message, seq, reader.GetValue(1))));
            }
        }

        return problems;
    }

    /// <summary>Each recorded head must be a row of the journal with the same hash; a head beyond the journal's end means rows were cut off.</summary>
    private static int CheckOffNode(IReadOnlyList<HeadSample> samples, Dictionary<long, (byte[] Hash, string Key)> hashes, ChainHead head, long prunedThrough, List<VerifyProblem> problems)
    {
        HeadSample? lastMatch = null;
        var reportedRewrite = false;
        var count = 0;
        foreach (var sample in samples.OrderBy(s => s.Time))
        {
            count++;
            if (sample.Seq > head.Seq)
            {
                problems.Add(new VerifyProblem("truncated", head.Seq + 1,
                    $"Prometheus saw row {sample.Seq} as the head at {Time(sample.Time)}, but the journal ends at row {head.Seq}: rows {head.Seq + 1}-{sample.Seq} were cut off"));
                return count;
            }

            if (!hashes.TryGetValue(sample.Seq, out var row))
            {
                // Deleted rows are reported by the chain walk; pruned ones cannot be checked.
                continue;
            }

            if (JournalMetrics.HashParts(row.Hash) == (sample.Part0, sample.Part1))
            {
                lastMatch = sample;
                continue;
            }

            if (!reportedRewrite)
            {
                reportedRewrite = true;
                var after = lastMatch is { } m ? $"after row {m.Seq} (still as recorded at {Time(m.Time)})" : prunedThrough > 0 ? $"after row {prunedThrough}" : "from the start";
                problems.Add(new VerifyProblem("rewritten", sample.Seq,
                    $"{row.Key} does not hash to the head Prometheus recorded at {Time(sample.Time)}: the journal was rewritten {after}, at or before row {sample.Seq}"));
            }
        }

        return count;
    }

    private static string Time(double unixSeconds) => Core.Reporting.ReportText.Time(unixSeconds);
}
