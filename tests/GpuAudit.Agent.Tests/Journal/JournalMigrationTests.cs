using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Tests.Journal;

/// <summary>A schema-1 journal (no chain, violations updated in place, per-process minutes) opened by this agent.</summary>
public sealed class JournalMigrationTests : IDisposable
{
    private const string Version1 = """
        CREATE TABLE violations (id TEXT PRIMARY KEY, rule TEXT NOT NULL, severity TEXT NOT NULL, node TEXT, gpu INTEGER NOT NULL, uuid TEXT NOT NULL,
            pid INTEGER, job TEXT, user TEXT, executable TEXT, start_t REAL NOT NULL, end_t REAL, evidence TEXT NOT NULL, allowance TEXT);
        CREATE INDEX violations_by_job ON violations (job, start_t);
        CREATE TABLE gpu_minutes (node TEXT NOT NULL, uuid TEXT NOT NULL, gpu INTEGER NOT NULL, minute REAL NOT NULL,
            first_t REAL NOT NULL, last_t REAL NOT NULL, idle_s REAL NOT NULL, training_s REAL NOT NULL, inference_s REAL NOT NULL, compute_s REAL NOT NULL,
            hash_s REAL NOT NULL, unknown_s REAL NOT NULL, mixed_s REAL NOT NULL, energy_j REAL NOT NULL, util_mean REAL, util_s REAL NOT NULL, PRIMARY KEY (node, uuid, minute));
        CREATE TABLE process_minutes (node TEXT NOT NULL, uuid TEXT NOT NULL, pid INTEGER NOT NULL, minute REAL NOT NULL, job TEXT, user TEXT, comm TEXT, executable TEXT,
            first_t REAL NOT NULL, last_t REAL NOT NULL, idle_s REAL NOT NULL, training_s REAL NOT NULL, inference_s REAL NOT NULL, compute_s REAL NOT NULL,
            hash_s REAL NOT NULL, unknown_s REAL NOT NULL, mixed_s REAL NOT NULL, energy_j REAL NOT NULL, util_mean REAL, util_s REAL NOT NULL, PRIMARY KEY (node, uuid, pid, minute));
        CREATE INDEX process_minutes_by_job ON process_minutes (job, minute);
        CREATE TABLE job_minutes (node TEXT NOT NULL, job TEXT NOT NULL, uuid TEXT NOT NULL, gpu INTEGER NOT NULL, minute REAL NOT NULL, user TEXT,
            first_t REAL NOT NULL, last_t REAL NOT NULL, idle_s REAL NOT NULL, training_s REAL NOT NULL, inference_s REAL NOT NULL, compute_s REAL NOT NULL,
            hash_s REAL NOT NULL, unknown_s REAL NOT NULL, mixed_s REAL NOT NULL, energy_j REAL NOT NULL, util_mean REAL, util_s REAL NOT NULL, PRIMARY KEY (node, job, uuid, minute));
        INSERT INTO violations VALUES ('closed', 'hash_compute', 'critical', 'n', 0, 'GPU-x', 776, '4242', 'alice', '/usr/bin/python3', 100, 160, '["pid 776 classified hash"]', NULL);
        INSERT INTO violations VALUES ('open', 'unattributed_process', 'warning', 'n', 0, 'GPU-x', 900, '4242', NULL, NULL, 200, NULL, '["no job"]', NULL);
        INSERT INTO gpu_minutes VALUES ('n', 'GPU-x', 0, 60, 60.5, 119.5, 0, 59, 0, 0, 0, 0, 0, 4000.5, 0.75, 59);
        INSERT INTO job_minutes VALUES ('n', '4242', 'GPU-x', 0, 60, 'alice', 60.5, 119.5, 0, 59, 0, 0, 0, 0, 0, 4000.5, 0.75, 59);
        INSERT INTO job_minutes VALUES ('n', '4242', 'GPU-x', 0, 120, 'alice', 120.5, 179.5, 0, 0, 0, 0, 59, 0, 0, 4000.5, 0.5, 59);
        INSERT INTO process_minutes VALUES ('n', 'GPU-x', 776, 60, '4242', 'alice', 'python3', '/usr/bin/python3', 60.5, 119.5, 0, 59, 0, 0, 0, 0, 0, 2000, 0.5, 59);
        INSERT INTO process_minutes VALUES ('n', 'GPU-x', 776, 120, '4242', 'alice', 'python3', '/usr/bin/python3', 120.5, 179.5, 0, 0, 0, 0, 59, 0, 0, 2000, 0.5, 59);
        PRAGMA user_version = 1;
        """;

    private readonly TempDirectory _dir = new();

    [Fact]
    public void A_schema_1_journal_is_migrated_into_the_chain_and_reads_the_same()
    {
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, AuditJournal.FileName)};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = Version1;
            command.ExecuteNonQuery();
        }

        Assert.Contains("older than this gpuaudit", Assert.Throws<UserInputException>(() => JournalReader.Open(_dir.Path)).Message, StringComparison.Ordinal);
        using (AuditJournal.Open(_dir.Path))
        {
        }

        using var reader = JournalReader.Open(_dir.Path);
        var violations = reader.AllViolations().ToDictionary(v => v.Id);
        Assert.Equal((160.0, (double?)null), (violations["closed"].End!.Value, violations["open"].End));
        Assert.Equal(["pid 776 classified hash"], violations["closed"].Evidence);
        var minutes = reader.JobMinutes("4242", 0, 1000);
        Assert.Equal([60.0, 120.0], minutes.Select(m => m.Minute));
        Assert.Equal((60.5, 119.5, 59.0, 4000.5, 0.75), (minutes[0].Totals.FirstTime, minutes[0].Totals.LastTime, minutes[0].Totals.ClassSeconds[WorkloadClass.Training], minutes[0].Totals.EnergyJoules, minutes[0].Totals.MeanUtilization!.Value));
        var process = Assert.Single(reader.Processes("4242", 0, 1000));
        Assert.Equal((59.0, 59.0, 0.5), (process.ClassSeconds[WorkloadClass.Training], process.ClassSeconds[WorkloadClass.Hash], process.MeanSmUtilization!.Value));
        Assert.True(JournalVerifier.Verify(reader).Intact);
    }

    public void Dispose() => _dir.Dispose();
}
