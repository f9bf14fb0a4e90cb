using System.Globalization;
using GpuAudit.Core;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Reporting;
using GpuAudit.Core.Summaries;
using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// The node's audit journal: violations and per-minute summaries in SQLite (WAL,
/// synchronous=FULL), so every write method returns only once the row is on disk. The pipeline
/// records a violation here before exporting it; a kill -9 right after loses nothing that was
/// ever shown on /metrics. One writer per directory; readers (reports) may open it concurrently.
/// </summary>
public sealed class AuditJournal : IDisposable
{
    public const string FileName = "gpuaudit-journal.db";

    private readonly SqliteConnection _connection;

    private AuditJournal(SqliteConnection connection, string directory)
    {
        _connection = connection;
        Directory = directory;
    }

    public string Directory { get; }

    /// <summary>Opens (creating if needed) the journal in <paramref name="directory"/>.</summary>
    public static AuditJournal Open(string directory)
    {
        try
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"journal directory {directory} cannot be created ({e.Message}); pass a writable --journal directory", e);
        }

        var path = Path.Combine(directory, FileName);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;");
            var version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version"), CultureInfo.InvariantCulture);
            if (version > JournalSchema.Version)
            {
                throw new UserInputException($"journal {path} has schema {version}, newer than this gpuaudit ({JournalSchema.Version}); use a newer gpuaudit or another --journal directory");
            }

            using (var transaction = connection.BeginTransaction())
            {
                Execute(connection, JournalSchema.Create, transaction);
                Execute(connection, $"PRAGMA user_version={JournalSchema.Version}", transaction);
                transaction.Commit();
            }

            return new AuditJournal(connection, directory);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new UserInputException($"journal {path} cannot be opened ({e.Message}); check the file or pass another --journal directory", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Whether a journal exists in <paramref name="directory"/> (reports must not create one).</summary>
    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    /// <summary>Writes what one policy evaluation opened and closed, in one durable transaction.</summary>
    public void Record(PolicyResult result)
    {
        if (result.Opened.Count == 0 && result.Closed.Count == 0)
        {
            return;
        }

        using var transaction = _connection.BeginTransaction();
        foreach (var violation in result.Opened.Concat(result.Closed))
        {
            Upsert(violation, transaction);
        }

        transaction.Commit();
    }

    public void Record(MinuteBatch batch)
    {
        if (batch.IsEmpty)
        {
            return;
        }

        using var transaction = _connection.BeginTransaction();
        foreach (var row in batch.Gpus)
        {
            WriteMinute("gpu_minutes", "node, uuid, gpu, minute", "node, uuid, minute", [row.Node, row.Uuid, row.Gpu, row.Minute], row.Totals, transaction);
        }

        foreach (var row in batch.Processes)
        {
            WriteMinute("process_minutes", "node, uuid, pid, minute, job, user, comm, executable", "node, uuid, pid, minute",
                [row.Node, row.Uuid, row.Pid, row.Minute, row.Job, row.User, row.Comm, row.Executable], row.Totals, transaction);
        }

        foreach (var row in batch.Jobs)
        {
            WriteMinute("job_minutes", "node, job, uuid, gpu, minute, user", "node, job, uuid, minute", [row.Node, row.Job, row.Uuid, row.Gpu, row.Minute, row.User], row.Totals, transaction);
        }

        transaction.Commit();
    }

    /// <summary>
    /// Writes processes' top kernels (the kernel ledger's running totals): a row per node, pid, job
    /// and kernel, its launches only growing. Job "" is a process of no job.
    /// </summary>
    public void RecordKernels(IReadOnlyList<KernelLaunchRow> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }

        using var transaction = _connection.BeginTransaction();
        foreach (var row in rows)
        {
            Execute(
                _connection,
                "INSERT INTO process_kernels (node, pid, job, kernel, comm, launches, first_t, last_t, hash_constants) VALUES ($node, $pid, $job, $kernel, $comm, $launches, $first, $last, $hash) " +
                "ON CONFLICT (node, pid, job, kernel) DO UPDATE SET launches = max(launches, excluded.launches), first_t = min(first_t, excluded.first_t), " +
                "last_t = max(last_t, excluded.last_t), comm = coalesce(excluded.comm, comm), hash_constants = coalesce(excluded.hash_constants, hash_constants)",
                transaction,
                ("$node", row.Node), ("$pid", row.Pid), ("$job", row.Job ?? string.Empty), ("$kernel", row.Kernel), ("$comm", row.Comm),
                ("$launches", row.Launches), ("$first", row.FirstSeen), ("$last", row.LastSeen), ("$hash", row.HashConstants));
        }

        transaction.Commit();
    }

    /// <summary>The kernels a job's processes launched in [from, to], most launched first.</summary>
    public IReadOnlyList<KernelLaunchRow> ProcessKernels(string job, double from, double to)
    {
        using var command = Command(
            "SELECT node, pid, job, comm, kernel, launches, first_t, last_t, hash_constants FROM process_kernels " +
            "WHERE job = $job AND last_t >= $from AND first_t <= $to ORDER BY launches DESC, node, pid, kernel",
            ("$job", job), ("$from", from), ("$to", to));
        using var reader = command.ExecuteReader();
        var rows = new List<KernelLaunchRow>();
        while (reader.Read())
        {
            rows.Add(new KernelLaunchRow(reader.GetString(0), reader.GetInt32(1), Text(reader, 2) is { Length: > 0 } j ? j : null, Text(reader, 3), reader.GetString(4), reader.GetInt64(5), reader.GetDouble(6), reader.GetDouble(7), Text(reader, 8)));
        }

        return rows;
    }

    /// <summary>
    /// Closes the violations of <paramref name="node"/> that a previous run left open (it crashed
    /// or was stopped while they were active). Their end is the last time that run wrote a minute
    /// summary for the node: the last moment the evidence was known to hold. A violation that
    /// still holds opens again, with a new id, once the restarted policy sees its evidence.
    /// Returns how many were closed.
    /// </summary>
    public int CloseLeftOpen(string? node)
    {
        using var transaction = _connection.BeginTransaction();
        var closed = Execute(
            _connection,
            "UPDATE violations SET end_t = max(start_t, coalesce((SELECT max(last_t) FROM gpu_minutes WHERE node IS $node), start_t)) " +
            "WHERE end_t IS NULL AND node IS $node",
            transaction,
            ("$node", node));
        transaction.Commit();
        return closed;
    }

    /// <summary>
    /// Deletes summaries older than <paramref name="before"/> and violations that closed before it.
    /// Open violations are kept whatever their age: they are still true.
    /// </summary>
    public int Prune(double before)
    {
        using var transaction = _connection.BeginTransaction();
        var deleted = 0;
        foreach (var table in new[] { "gpu_minutes", "process_minutes", "job_minutes" })
        {
            deleted += Execute(_connection, $"DELETE FROM {table} WHERE minute + 60 <= $before", transaction, ("$before", before));
        }

        deleted += Execute(_connection, "DELETE FROM process_kernels WHERE last_t < $before", transaction, ("$before", before));
        deleted += Execute(_connection, "DELETE FROM violations WHERE end_t IS NOT NULL AND end_t < $before", transaction, ("$before", before));
        transaction.Commit();
        return deleted;
    }

    /// <summary>Violations and allowed findings of a job that overlap [from, to], by start.</summary>
    public IReadOnlyList<Violation> Violations(string job, double from, double to)
    {
        using var command = Command(
            "SELECT id, rule, node, gpu, uuid, pid, job, user, executable, start_t, end_t, evidence, allowance " +
            "FROM violations WHERE job = $job AND start_t <= $to AND (end_t IS NULL OR end_t >= $from) ORDER BY start_t, id",
            ("$job", job), ("$from", from), ("$to", to));
        using var reader = command.ExecuteReader();
        var violations = new List<Violation>();
        while (reader.Read())
        {
            violations.Add(ReadViolation(reader));
        }

        return violations;
    }

    public IReadOnlyList<JobMinute> JobMinutes(string job, double from, double to)
    {
        using var command = Command($"SELECT node, job, uuid, gpu, minute, user, {TotalsColumns} FROM job_minutes WHERE job = $job AND last_t >= $from AND first_t <= $to ORDER BY node, uuid, minute",
            ("$job", job), ("$from", from), ("$to", to));
        using var reader = command.ExecuteReader();
        var rows = new List<JobMinute>();
        while (reader.Read())
        {
            rows.Add(new JobMinute(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetDouble(4), Text(reader, 5), ReadTotals(reader, 6)));
        }

        return rows;
    }

    public IReadOnlyList<ProcessMinute> ProcessMinutes(string job, double from, double to)
    {
        using var command = Command($"SELECT node, uuid, pid, minute, job, user, comm, executable, {TotalsColumns} FROM process_minutes WHERE job = $job AND last_t >= $from AND first_t <= $to ORDER BY node, uuid, pid, minute",
            ("$job", job), ("$from", from), ("$to", to));
        using var reader = command.ExecuteReader();
        var rows = new List<ProcessMinute>();
        while (reader.Read())
        {
            rows.Add(new ProcessMinute(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetDouble(3), Text(reader, 4), Text(reader, 5), Text(reader, 6), Text(reader, 7), ReadTotals(reader, 8)));
        }

        return rows;
    }

    public void Dispose() => _connection.Dispose();

    private const string TotalsColumns = "first_t, last_t, " + JournalSchema.ClassColumns + ", energy_j, util_mean, util_s";

    private void Upsert(Violation v, SqliteTransaction transaction)
    {
        Execute(_connection, """
            INSERT INTO violations (id, rule, severity, node, gpu, uuid, pid, job, user, executable, start_t, end_t, evidence, allowance)
            VALUES ($id, $rule, $severity, $node, $gpu, $uuid, $pid, $job, $user, $exe, $start, $end, $evidence, $allowance)
            ON CONFLICT (id) DO UPDATE SET end_t = excluded.end_t
            """,
            transaction,
            ("$id", v.Id), ("$rule", v.Rule.Label()), ("$severity", v.Severity.Label()), ("$node", v.Node), ("$gpu", v.Gpu), ("$uuid", v.Uuid),
            ("$pid", v.Pid), ("$job", v.Job), ("$user", v.User), ("$exe", v.Executable), ("$start", v.Start), ("$end", v.End),
            ("$evidence", JournalJson.WriteEvidence(v.Evidence)), ("$allowance", v.AllowedBy is { } a ? JournalJson.WriteAllowance(a) : null));
    }

    private void WriteMinute(string table, string keyColumns, string conflictColumns, object?[] keys, MinuteTotals totals, SqliteTransaction transaction)
    {
        var names = keyColumns.Split(", ");
        var parameters = names.Select((n, i) => ("$" + n, keys[i])).ToList();
        parameters.Add(("$first_t", totals.FirstTime));
        parameters.Add(("$last_t", totals.LastTime));
        foreach (var value in WorkloadClassNames.All)
        {
            parameters.Add(("$" + value.Label() + "_s", totals.ClassSeconds[value]));
        }

        parameters.Add(("$energy_j", totals.EnergyJoules));
        parameters.Add(("$util_mean", totals.MeanUtilization));
        parameters.Add(("$util_s", totals.UtilizationSeconds));
        var columns = string.Join(", ", parameters.Select(p => p.Item1[1..]));
        var values = string.Join(", ", parameters.Select(p => p.Item1));
        Execute(_connection, $"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({conflictColumns}) DO UPDATE SET {JournalSchema.MergeTotals}",
            transaction, [.. parameters]);
    }

    private static Violation ReadViolation(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Rule = JournalJson.ParseRule(reader.GetString(1)),
        Node = Text(reader, 2),
        Gpu = reader.GetInt32(3),
        Uuid = reader.GetString(4),
        Pid = reader.IsDBNull(5) ? null : reader.GetInt32(5),
        Job = Text(reader, 6),
        User = Text(reader, 7),
        Executable = Text(reader, 8),
        Start = reader.GetDouble(9),
        End = reader.IsDBNull(10) ? null : reader.GetDouble(10),
        Evidence = JournalJson.ParseEvidence(reader.GetString(11)),
        AllowedBy = Text(reader, 12) is { } allowance ? JournalJson.ParseAllowance(allowance) : null,
    };

    private static MinuteTotals ReadTotals(SqliteDataReader reader, int first)
    {
        var seconds = new ClassSeconds();
        foreach (var value in WorkloadClassNames.All)
        {
            seconds.Add(value, reader.GetDouble(first + 2 + (int)value));
        }

        var after = first + 2 + WorkloadClassNames.All.Count;
        return new MinuteTotals(reader.GetDouble(first), reader.GetDouble(first + 1), seconds, reader.GetDouble(after),
            reader.IsDBNull(after + 1) ? null : reader.GetDouble(after + 1), reader.GetDouble(after + 2));
    }

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static int Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
