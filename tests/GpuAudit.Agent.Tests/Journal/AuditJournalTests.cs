using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Tests.Journal;

public sealed class AuditJournalTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static readonly Allowance Dedup = new([PolicyRule.HashCompute], "4242", "alice", null, "python3", "dedup hashes shards", 12);

    [Fact]
    public void Violations_survive_reopening_with_evidence_and_allowance()
    {
        var open = Violation("a1", start: 100);
        var allowed = Violation("a2", start: 120) with { AllowedBy = Dedup };
        using (var journal = AuditJournal.Open(_dir.Path))
        {
            journal.Record(new PolicyResult([open, allowed], [], [open, allowed]));
        }

        using var reopened = AuditJournal.Open(_dir.Path);
        var read = reopened.Violations("4242", 0, 1000);

        Assert.Equal(["a1", "a2"], read.Select(v => v.Id));
        Assert.Equal(open.Evidence, read[0].Evidence);
        Assert.Equal((PolicyRule.HashCompute, 776, "GPU-x", (double?)null), (read[0].Rule, read[0].Pid, read[0].Uuid, read[0].End));
        Assert.Equal(Dedup with { Rules = Dedup.Rules }, read[1].AllowedBy! with { Rules = Dedup.Rules });
        Assert.Equal(Dedup.Rules, read[1].AllowedBy!.Rules);
    }

    [Fact]
    public void A_recorded_violation_is_readable_by_another_connection_before_the_writer_closes()
    {
        // What a reader finds after kill -9 of the writer: the writer is never disposed here.
        var writer = AuditJournal.Open(_dir.Path);
        writer.Record(new PolicyResult([Violation("k9", start: 5)], [], []));

        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, AuditJournal.FileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM violations";
        Assert.Equal("k9", command.ExecuteScalar());
        writer.Dispose();
    }

    [Fact]
    public void Journal_runs_in_WAL_mode()
    {
        using var journal = AuditJournal.Open(_dir.Path);
        journal.Record(new PolicyResult([Violation("w", start: 5)], [], []));

        Assert.True(File.Exists(Path.Combine(_dir.Path, AuditJournal.FileName + "-wal")));
    }

    [Fact]
    public void Closing_sets_the_end_and_keeps_the_opening_evidence()
    {
        using var journal = AuditJournal.Open(_dir.Path);
        var open = Violation("c", start: 100);
        journal.Record(new PolicyResult([open], [], [open]));
        journal.Record(new PolicyResult([], [open with { End = 150, Evidence = ["later"] }], []));

        var read = Assert.Single(journal.Violations("4242", 0, 1000));
        Assert.Equal(150, read.End);
        Assert.Equal(open.Evidence, read.Evidence);
        Assert.Empty(journal.Violations("4242", 151, 1000));
    }

    [Fact]
    public void Pruning_drops_old_summaries_and_closed_violations_but_keeps_open_ones()
    {
        using var journal = AuditJournal.Open(_dir.Path);
        var old = Violation("old", start: 10) with { End = 20 };
        var stillOpen = Violation("open", start: 10);
        journal.Record(new PolicyResult([old, stillOpen], [], []));
        journal.Record(new MinuteBatch([], [], [JobRow(0), JobRow(600)]));

        journal.Prune(before: 300);

        Assert.Equal(["open"], journal.Violations("4242", 0, 1000).Select(v => v.Id));
        Assert.Equal([600.0], journal.JobMinutes("4242", 0, 10_000).Select(r => r.Minute));
    }

    [Fact]
    public void Diverted_seconds_of_a_job_minute_are_kept_summed_and_pruned_with_the_minutes()
    {
        using var journal = AuditJournal.Open(_dir.Path);
        journal.Record(new MinuteBatch([], [], [JobRow(0) with { DivertedSeconds = 12.5 }, JobRow(60), JobRow(600) with { DivertedSeconds = 30 }]));
        journal.Record(new MinuteBatch([], [], [JobRow(600) with { DivertedSeconds = 2 }]));

        Assert.Equal(44.5, journal.DivertedSeconds("4242", 0, 10_000), 6);
        Assert.Equal(32, journal.DivertedSeconds("4242", 600, 10_000), 6);
        Assert.Equal(0, journal.DivertedSeconds("77", 0, 10_000));

        journal.Prune(before: 300);
        Assert.Equal(32, journal.DivertedSeconds("4242", 0, 10_000), 6);
    }

    [Fact]
    public void A_minute_written_twice_is_merged()
    {
        using var journal = AuditJournal.Open(_dir.Path);
        journal.Record(new MinuteBatch([], [], [JobRow(60, training: 20, utilization: 1.0)]));
        journal.Record(new MinuteBatch([], [], [JobRow(60, training: 20, utilization: 0.5) with { Totals = Totals(60, 20, 0.5) with { ClassSeconds = ClassSeconds.Of((WorkloadClass.Hash, 20)) } }]));

        var row = Assert.Single(journal.JobMinutes("4242", 0, 1000));
        Assert.Equal((20.0, 20.0, 200.0), (row.Totals.ClassSeconds[WorkloadClass.Training], row.Totals.ClassSeconds[WorkloadClass.Hash], row.Totals.EnergyJoules));
        Assert.Equal(0.75, row.Totals.MeanUtilization!.Value, 6);
    }

    [Fact]
    public void A_journal_from_a_newer_schema_is_refused_with_a_clear_message()
    {
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, AuditJournal.FileName)};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version=99";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<UserInputException>(() => AuditJournal.Open(_dir.Path));
        Assert.Contains("schema 99, newer than this gpuaudit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Violations_a_previous_run_left_open_are_closed_at_its_last_summary()
    {
        using (var crashed = AuditJournal.Open(_dir.Path))
        {
            crashed.Record(new PolicyResult([Violation("left", start: 100), Violation("other-node", start: 100) with { Node = "node-b" }], [], []));
            crashed.Record(new MinuteBatch([new GpuMinute("node-a", "GPU-x", 0, 120, Totals(120, 40, 0.5))], [], []));
        }

        using var restarted = AuditJournal.Open(_dir.Path);
        var closed = restarted.CloseLeftOpen("node-a");

        var read = restarted.Violations("4242", 0, 1000);
        Assert.Equal(1, closed);
        Assert.Equal(160, read.Single(v => v.Id == "left").End);
        Assert.Null(read.Single(v => v.Id == "other-node").End);
    }

    public void Dispose() => _dir.Dispose();

    private static Violation Violation(string id, double start) => AgentFixtures.HashViolation(id, start, "node-a") with
    {
        User = "alice",
        Executable = "/usr/bin/python3.12",
        Evidence = ["pid 776 classified hash (confidence 0.93)", "integer pipe \"96%\""],
    };

    private static JobMinute JobRow(double minute, double training = 30, double utilization = 0.5) =>
        new("node-a", "4242", "GPU-x", 0, minute, "alice", Totals(minute, training, utilization));

    private static MinuteTotals Totals(double minute, double training, double utilization) =>
        new(minute, minute + training, ClassSeconds.Of((WorkloadClass.Training, training)), training * 5, utilization, training);
}
