using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// Schema 1 → 2. Schema 1 had no hash chain, updated violations in place and kept one row per
/// process per minute. Its tables are renamed <c>v1_*</c>, then copied through the schema-2
/// writer (so the copied rows join the chain and process minutes roll up into periods) an hour
/// of summaries at a time, each chunk deleted from the old table in the transaction that
/// copies it: a migration cut short resumes where it stopped. The old tables are dropped at the end.
/// </summary>
internal static class JournalMigration
{
    private const int ViolationsPerChunk = 1000;
    private const double SecondsPerChunk = 3600;

    private static readonly string[] Tables = ["violations", "gpu_minutes", "process_minutes", "job_minutes"];

    private static readonly string Totals = "first_t, last_t, " + string.Join(", ", WorkloadClassNames.All.Select(c => c.Label() + "_s")) + ", energy_j, util_mean, util_s";

    public static void RenameVersion1Tables(SqliteConnection connection, SqliteTransaction transaction)
    {
        JournalWriter.Execute(connection, "DROP INDEX IF EXISTS violations_by_job; DROP INDEX IF EXISTS process_minutes_by_job;", transaction);
        foreach (var table in Tables)
        {
            JournalWriter.Execute(connection, $"ALTER TABLE {table} RENAME TO v1_{table}", transaction);
        }
    }

    public static bool HasVersion1Tables(SqliteConnection connection) =>
        JournalWriter.Scalar(connection, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'v1\\_%' ESCAPE '\\'") is long n && n > 0;

    public static void CopyVersion1(JournalWriter writer, SqliteConnection connection)
    {
        while (true)
        {
            var violations = new List<Violation>();
            var rowids = new List<long>();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT rowid, id, rule, node, gpu, uuid, pid, job, user, executable, start_t, end_t, evidence, allowance " +
                    $"FROM v1_violations ORDER BY start_t, id LIMIT {ViolationsPerChunk}";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    rowids.Add(reader.GetInt64(0));
                    violations.Add(JournalReader.ReadViolation(reader, first: 1));
                }
            }

            if (rowids.Count == 0)
            {
                break;
            }

            writer.Write(violations, [], t => JournalWriter.Execute(connection, $"DELETE FROM v1_violations WHERE rowid IN ({string.Join(',', rowids)})", t));
        }

        while (JournalWriter.Scalar(connection, "SELECT min(m) FROM (SELECT min(minute) m FROM v1_gpu_minutes UNION ALL SELECT min(minute) FROM v1_job_minutes UNION ALL SELECT min(minute) FROM v1_process_minutes)") is double first)
        {
            var to = first + SecondsPerChunk;
            var batch = new MinuteBatch(
                Read(connection, "node, uuid, gpu, minute", "v1_gpu_minutes", first, to, (r, t) => new GpuMinute(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetDouble(3), t)),
                Read(connection, "node, uuid, pid, minute, job, user, comm, executable", "v1_process_minutes", first, to,
                    (r, t) => new ProcessMinute(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetDouble(3), JournalReader.Text(r, 4), JournalReader.Text(r, 5), JournalReader.Text(r, 6), JournalReader.Text(r, 7), t)),
                Read(connection, "node, job, uuid, gpu, minute, user", "v1_job_minutes", first, to,
                    (r, t) => new JobMinute(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetDouble(4), JournalReader.Text(r, 5), t)));
            writer.Write([], [batch], t =>
            {
                foreach (var table in Tables[1..])
                {
                    JournalWriter.Execute(connection, $"DELETE FROM v1_{table} WHERE minute < $to", t, ("$to", to));
                }
            });
        }

        writer.SealAllPending();
        foreach (var table in Tables)
        {
            JournalWriter.Execute(connection, $"DROP TABLE IF EXISTS v1_{table}");
        }
    }

    private static List<T> Read<T>(SqliteConnection connection, string keys, string table, double from, double to, Func<SqliteDataReader, MinuteTotals, T> create)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {keys}, {Totals} FROM {table} WHERE minute >= $from AND minute < $to ORDER BY minute";
        command.Parameters.AddWithValue("$from", from);
        command.Parameters.AddWithValue("$to", to);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        var first = keys.Split(", ").Length;
        while (reader.Read())
        {
            var seconds = new ClassSeconds();
            foreach (var value in WorkloadClassNames.All)
            {
                seconds.Add(value, reader.GetDouble(first + 2 + (int)value));
            }

            var after = first + 2 + WorkloadClassNames.All.Count;
            rows.Add(create(reader, new MinuteTotals(reader.GetDouble(first), reader.GetDouble(first + 1), seconds, reader.GetDouble(after),
                reader.IsDBNull(after + 1) ? null : reader.GetDouble(after + 1), reader.GetDouble(after + 2))));
        }

        return rows;
    }
}
