using System.Text;
using Microsoft.Data.Sqlite;
using Prometheus;

namespace GpuAudit.Agent.Tests.Journal;

/// <summary>The hash chain: what `gpuaudit verify` finds after an edit, a deletion, a cut and a consistent rewrite.</summary>
public sealed class JournalChainTests : IDisposable
{
    private static readonly JobRef Job = new("4242", "gpu-map", "alice");
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task A_replayed_journal_is_intact_and_its_head_is_on_metrics_as_verify_computes_it()
    {
        var registry = Metrics.NewCustomRegistry();
        using (var journal = AuditJournal.Open(_dir.Path, new JournalOptions { Node = "h100-probe", Metrics = new JournalMetrics(registry) }))
        {
            JournalReplay.Run(journal, "mixed", Job);
        }

        var result = Verify();
        var exposition = await AgentFixtures.ExpositionAsync(registry);

        Assert.True(result.Intact, string.Join("\n", result.Problems));
        Assert.True(result.Rows > 5);
        var (part0, part1) = JournalMetrics.HashParts(result.Head.Hash);
        Assert.Contains($"gpuaudit_journal_chain_head_seq{{journal_id=\"{result.JournalId}\"}} {result.Head.Seq}\n", exposition, StringComparison.Ordinal);
        Assert.Contains($"gpuaudit_journal_chain_head_hash{{journal_id=\"{result.JournalId}\",part=\"0\"}} {part0}\n", exposition, StringComparison.Ordinal);
        Assert.Contains($"gpuaudit_journal_chain_head_hash{{journal_id=\"{result.JournalId}\",part=\"1\"}} {part1}\n", exposition, StringComparison.Ordinal);
    }

    [Fact]
    public void An_edited_violation_is_named_by_its_row_and_id()
    {
        Replay();
        var (seq, id) = Single<(long, string)>("SELECT seq, id FROM violations", r => (r.GetInt64(0), r.GetString(1)));
        Sql("UPDATE violations SET evidence = '[\"nothing to see\"]'");

        var problem = Assert.Single(Verify().Problems);

        Assert.Equal(("edited", seq), (problem.Kind, problem.Seq));
        Assert.Contains($"id={id}", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deleted_minute_is_named_by_its_row()
    {
        Replay();
        var seq = Single("SELECT min(seq) FROM job_minutes", r => r.GetInt64(0));
        Sql($"DELETE FROM job_minutes WHERE seq = {seq}");

        var problem = Assert.Single(Verify().Problems);

        Assert.Equal(("deleted", seq), (problem.Kind, problem.Seq));
        Assert.Contains($"row {seq} deleted", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deleted_violation_whose_end_remains_is_found()
    {
        using (var journal = AuditJournal.Open(_dir.Path))
        {
            var v = Violation("gone");
            journal.Record(new PolicyResult([v], [], [v]));
            journal.Record(new PolicyResult([], [v with { End = 90 }], []));
            journal.Record(new PolicyResult([Violation("later")], [], []));
        }

        Sql("DELETE FROM violations WHERE id = 'gone'");

        var problems = Verify().Problems;
        Assert.Contains(problems, p => p.Kind == "deleted" && p.Message.Contains("violation gone was deleted", StringComparison.Ordinal));
    }

    [Fact]
    public void Rows_cut_from_the_end_show_only_against_the_head_recorded_off_the_node()
    {
        Replay();
        var recorded = Verify().Head;
        var (part0, part1) = JournalMetrics.HashParts(recorded.Hash);
        var cut = recorded.Seq - 3;
        foreach (var table in JournalSchema.Chained)
        {
            Sql($"DELETE FROM {table.Name} WHERE seq > {cut}");
        }

        Assert.True(Verify().Intact, "a cut end leaves a consistent chain: only the off-node head shows it");
        var problem = Assert.Single(Verify([new HeadSample(1000, recorded.Seq, part0, part1)]).Problems);
        Assert.Equal(("truncated", cut + 1), (problem.Kind, problem.Seq));
        Assert.Contains($"rows {cut + 1}-{recorded.Seq} were cut off", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_rewritten_after_an_edit_shows_against_the_recorded_heads_and_says_between_which()
    {
        Replay();
        var violationSeq = Single("SELECT seq FROM violations", r => r.GetInt64(0));
        var early = HeadAt(violationSeq - 1);
        var late = Verify().Head;

        Sql("UPDATE violations SET rule = 'idle_allocation'");
        Rechain(from: violationSeq);

        Assert.True(Verify().Intact, "a rewrite that recomputes every later link is consistent on its own");
        var problem = Assert.Single(Verify([Sample(10, early), Sample(20, late)]).Problems);
        Assert.Equal(("rewritten", late.Seq), (problem.Kind, problem.Seq));
        Assert.Contains($"after row {early.Seq}", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retention_is_not_a_deletion_but_deleting_a_newer_row_still_is()
    {
        using (var journal = AuditJournal.Open(_dir.Path))
        {
            journal.Record(new MinuteBatch([], [], [JobRow(0), JobRow(60), JobRow(6000)]));
            journal.Record(new MinuteBatch([], [], [JobRow(6060)]));
            Assert.Equal(2, journal.Prune(before: 3000));
        }

        var pruned = Verify();
        Assert.True(pruned.Intact, string.Join("\n", pruned.Problems));
        Assert.Equal(2, pruned.Pruned);

        Sql("DELETE FROM job_minutes WHERE minute = 6000");
        Assert.Equal("deleted", Assert.Single(Verify().Problems).Kind);
    }

    public void Dispose() => _dir.Dispose();

    private static HeadSample Sample(double time, ChainHead head)
    {
        var (part0, part1) = JournalMetrics.HashParts(head.Hash);
        return new HeadSample(time, head.Seq, part0, part1);
    }

    private static Violation Violation(string id) => AgentFixtures.HashViolation(id, node: "n");

    private static JobMinute JobRow(double minute) =>
        new("n", "4242", "GPU-x", 0, minute, "alice", new MinuteTotals(minute, minute + 60, Core.Reporting.ClassSeconds.Of((Core.Classification.WorkloadClass.Training, 60)), 100, 0.5, 60));

    private void Replay()
    {
        using var journal = AuditJournal.Open(_dir.Path, new JournalOptions { Node = "h100-probe" });
        JournalReplay.Run(journal, "mixed", Job);
    }

    private VerifyResult Verify(IReadOnlyList<HeadSample>? samples = null)
    {
        using var reader = JournalReader.Open(_dir.Path);
        return JournalVerifier.Verify(reader, samples);
    }

    /// <summary>The head as it stood when row <paramref name="seq"/> was the newest.</summary>
    private ChainHead HeadAt(long seq)
    {
        using var connection = Connect();
        var table = JournalSchema.Chained.Single(t => Scalar(connection, $"SELECT count(*) FROM {t.Name} WHERE seq = {seq}") is 1L);
        using var rows = new ChainRowReader(connection, table, seq - 1);
        return new ChainHead(seq, rows.Read()!.Hash);
    }

    /// <summary>What an attacker with the source does after an edit: recompute every later link so the chain is consistent again.</summary>
    private void Rechain(long from)
    {
        using var connection = Connect();
        var head = Verify().Head.Seq;
        var previous = HeadAt(from).Hash;
        for (var seq = from + 1; seq <= head; seq++)
        {
            var table = JournalSchema.Chained.SingleOrDefault(t => Scalar(connection, $"SELECT count(*) FROM {t.Name} WHERE seq = {seq}") is 1L);
            if (table is null)
            {
                continue;
            }

            using (var update = connection.CreateCommand())
            {
                update.CommandText = $"UPDATE {table.Name} SET prev = $prev WHERE seq = {seq}";
                update.Parameters.AddWithValue("$prev", previous);
                update.ExecuteNonQuery();
            }

            using var rows = new ChainRowReader(connection, table, seq - 1);
            previous = rows.Read()!.Hash;
        }
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, AuditJournal.FileName)};Pooling=False");
        connection.Open();
        return connection;
    }

    private void Sql(string sql)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private T Single<T>(string sql, Func<SqliteDataReader, T> read)
    {
        using var connection = Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read(), sql);
        var value = read(reader);
        Assert.False(reader.Read(), sql + " returned more than one row");
        return value;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
