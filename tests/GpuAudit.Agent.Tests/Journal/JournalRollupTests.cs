using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Tests.Journal;

/// <summary>Per-process minutes roll up into one chained row per process per period; reports add them back up.</summary>
public sealed class JournalRollupTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public void Twenty_five_minutes_of_two_processes_are_two_rows_each_sealed_and_one_pending()
    {
        using (var journal = AuditJournal.Open(_dir.Path))
        {
            // Minutes 600..2040: periods 600 and 1200 are complete; 1800 holds 5 minutes of each process.
            for (var minute = 600.0; minute < 600 + (25 * 60); minute += 60)
            {
                journal.Record(Minute(minute));
            }

            Assert.Equal((4L, 10L), (Count("process_periods"), Count("process_pending")));
        }

        // A clean shutdown seals the open period too.
        Assert.Equal((6L, 0L), (Count("process_periods"), Count("process_pending")));
        using var reader = JournalReader.Open(_dir.Path);
        var processes = reader.Processes("4242", double.MinValue, double.MaxValue);
        Assert.Equal([776, 777], processes.Select(p => p.Pid));
        Assert.All(processes, p => Assert.Equal(25 * 60, p.ClassSeconds.Total, 3));
        Assert.Equal(25 * 60, processes[0].ClassSeconds[WorkloadClass.Hash], 3);
        Assert.Equal(0.25, processes[1].MeanSmUtilization!.Value, 6);
        Assert.Equal(25, reader.JobMinutes("4242", double.MinValue, double.MaxValue).Count);
    }

    [Fact]
    public void A_period_written_by_two_runs_adds_up_in_the_report()
    {
        using (var first = AuditJournal.Open(_dir.Path))
        {
            first.Record(Minute(600));
        }

        using (var second = AuditJournal.Open(_dir.Path))
        {
            second.Record(Minute(660));
        }

        using var reader = JournalReader.Open(_dir.Path);
        Assert.All(reader.Processes("4242", double.MinValue, double.MaxValue), p => Assert.Equal(120, p.ClassSeconds.Total, 3));
        Assert.True(JournalVerifier.Verify(reader).Intact);
    }

    public void Dispose() => _dir.Dispose();

    private static MinuteBatch Minute(double minute)
    {
        MinuteTotals Totals(WorkloadClass c, double utilization) => new(minute, minute + 60, ClassSeconds.Of((c, 60)), 100, utilization, 60);
        return new MinuteBatch(
            [new GpuMinute("n", "GPU-x", 0, minute, Totals(WorkloadClass.Mixed, 0.9))],
            [
                new ProcessMinute("n", "GPU-x", 776, minute, "4242", "alice", "python3", "/usr/bin/python3", Totals(WorkloadClass.Hash, 0.65)),
                new ProcessMinute("n", "GPU-x", 777, minute, "4242", "alice", "python3", "/usr/bin/python3", Totals(WorkloadClass.Training, 0.25)),
            ],
            [new JobMinute("n", "4242", "GPU-x", 0, minute, "alice", Totals(WorkloadClass.Mixed, 0.9))]);
    }

    private long Count(string table)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, AuditJournal.FileName)};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table}";
        return (long)command.ExecuteScalar()!;
    }
}
