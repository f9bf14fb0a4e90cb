using System.Globalization;
using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// Reads a journal without writing to it (the connection is opened read-only, so `report` and
/// `verify` work on a read-only mount or a copy, and cannot disturb the agent writing beside
/// them). Report queries aggregate in SQL and violations are streamed, so memory stays flat
/// whatever the size of the journal.
/// </summary>
public sealed class JournalReader : IDisposable
{
    private const string ViolationColumns = "v.id, v.rule, v.node, v.gpu, v.uuid, v.pid, v.job, v.user, v.executable, v.start_t, e.end_t, v.evidence, v.allowance";

    private readonly SqliteConnection _connection;

    private JournalReader(SqliteConnection connection, string directory)
    {
        _connection = connection;
        Directory = directory;
    }

    /// <summary>Resolution of the per-process rows, in minutes.</summary>
    public static long ProcessPeriodMinutes => JournalSchema.ProcessPeriodSeconds / 60;

    public string Directory { get; }

    internal SqliteConnection Connection => _connection;

    /// <summary>Opens the journal in <paramref name="directory"/> read-only; bad input (missing, corrupt, another schema) is a <see cref="UserInputException"/>.</summary>
    public static JournalReader Open(string directory)
    {
        var path = Path.Combine(directory, AuditJournal.FileName);
        if (!File.Exists(path))
        {
            throw new UserInputException($"no journal in {directory}; give the directory the agent writes to") { Input = UserInput.Journal };
        }

        // With no WAL beside it no writer has the file open (the agent deletes the WAL when it
        // closes): read the file as immutable, which creates nothing. Else share the writer's
        // WAL index read-only. A plain read-only open would create -wal and -shm files owned by
        // whoever runs the report, which an agent running as another user could then not open.
        var immutable = !File.Exists(path + "-wal");
        var source = immutable ? "file:" + Uri.EscapeDataString(Path.GetFullPath(path)).Replace("%2F", "/", StringComparison.Ordinal) + "?immutable=1" : path;
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = source, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        try
        {
            connection.Open();
            JournalWriter.Execute(connection, "PRAGMA busy_timeout=5000");
            var version = Convert.ToInt32(JournalWriter.Scalar(connection, "PRAGMA user_version"), CultureInfo.InvariantCulture);
            if (version != JournalSchema.Version || JournalMigration.HasVersion1Tables(connection))
            {
                throw new UserInputException(version > JournalSchema.Version
                    ? $"journal {path} has schema {version}, newer than this gpuaudit ({JournalSchema.Version}); use a newer gpuaudit"
                    : $"journal {path} has schema {version}, older than this gpuaudit ({JournalSchema.Version}); run this gpuaudit's agent on it once to migrate it, or read it with the gpuaudit that wrote it");
            }

            return new JournalReader(connection, directory);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new UserInputException($"journal {path} cannot be read ({e.Message}); if it is corrupt, the agent moves it aside when it next starts; read a copy or another directory", e) { Input = UserInput.Journal };
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Violations and allowed findings of a job (null: of every job, and of processes that belong to
    /// none) that overlap [from, to], by start, read one at a time from the journal each time the
    /// sequence is enumerated (the reader must stay open).
    /// </summary>
    public IEnumerable<Violation> Violations(string? job, double from, double to)
    {
        using var command = Command(
            $"SELECT {ViolationColumns} FROM violations v LEFT JOIN violation_ends e ON e.id = v.id " +
            $"WHERE {(job is null ? "" : "v.job = $job AND ")}v.start_t <= $to AND (e.end_t IS NULL OR e.end_t >= $from) ORDER BY v.start_t, v.id",
            ("$job", job), ("$from", from), ("$to", to));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return ReadViolation(reader);
        }
    }

    /// <summary>All violations of the journal, in chain order (for tests and tools).</summary>
    public IEnumerable<Violation> AllViolations()
    {
        using var command = Command($"SELECT {ViolationColumns} FROM violations v LEFT JOIN violation_ends e ON e.id = v.id ORDER BY v.seq");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return ReadViolation(reader);
        }
    }

    /// <summary>
    /// The job's GPU minutes overlapping [from, to], one row per GPU and minute (a minute written
    /// twice, at a shutdown and after the restart, is merged), by node, GPU and minute.
    /// </summary>
    public IReadOnlyList<JobMinute> JobMinutes(string job, double from, double to)
    {
        return Rows(
            $"SELECT g.node, g.uuid, g.gpu, j.minute, max(j.user), {SummedTotals("j")} FROM job_minutes j JOIN gpus g ON g.seq = j.gpu_ref " +
            $"WHERE j.job = $job AND {Overlaps("j", "minute")} GROUP BY j.gpu_ref, j.minute ORDER BY g.node, g.uuid, j.minute",
            reader =>
            {
                var minute = reader.GetInt64(3);
                return new JobMinute(Text(reader, 0) ?? "", job, reader.GetString(1), reader.GetInt32(2), minute, Text(reader, 4), ReadTotals(reader, 5, minute));
            },
            ("$job", job), ("$from", from), ("$to", to));
    }

    /// <summary>GPU-seconds diverted from the job in the minutes overlapping [from, to] (Core's DivertedTime, as the agent computed it).</summary>
    public double DivertedSeconds(string job, double from, double to)
    {
        using var command = Command(
            "SELECT coalesce(sum(diverted_ms), 0) FROM job_diverted WHERE job = $job AND minute + 60 > $from AND minute <= $to",
            ("$job", job), ("$from", from), ("$to", to));
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) / 1000.0;
    }

    /// <summary>Each GPU's totals for the job over [from, to].</summary>
    public IReadOnlyList<ReportGpu> Gpus(string job, double from, double to)
    {
        return Rows(
            $"SELECT g.node, g.uuid, g.gpu, {SummedTotals("j")} FROM job_minutes j JOIN gpus g ON g.seq = j.gpu_ref " +
            $"WHERE j.job = $job AND {Overlaps("j", "minute")} GROUP BY j.gpu_ref ORDER BY g.node, g.uuid",
            ReadGpu,
            ("$job", job), ("$from", from), ("$to", to));
    }

    /// <summary>
    /// Each process of the job (null: every process, with its job where it had one) over [from, to]:
    /// sealed periods and the pending one. Process rows are kept per period
    /// (JournalSchema.ProcessPeriodSeconds), so a window cuts them at that resolution.
    /// </summary>
    public IReadOnlyList<ReportProcess> Processes(string? job, double from, double to)
    {
        var totals = JournalSchema.Totals;
        return Rows(
            $"SELECT g.node, g.uuid, p.pid, max(p.comm), max(p.executable), max(p.user), max(p.job), {SummedTotals("r")} " +
            $"FROM processes p JOIN gpus g ON g.seq = p.gpu_ref " +
            $"JOIN (SELECT process_ref, period, {totals} FROM process_periods UNION ALL SELECT process_ref, period, {totals} FROM process_pending) r ON r.process_ref = p.seq " +
            $"WHERE {(job is null ? "" : "p.job = $job AND ")}{Overlaps("r", "period")} GROUP BY g.node, g.uuid, p.pid ORDER BY g.node, g.uuid, p.pid",
            reader =>
            {
                var sums = ReadTotals(reader, 7, 0);
                return new ReportProcess(Text(reader, 0) ?? "", reader.GetString(1), reader.GetInt32(2), Text(reader, 3), Text(reader, 4), Text(reader, 5), sums.ClassSeconds, sums.MeanUtilization) { Job = Text(reader, 6) };
            },
            ("$job", job), ("$from", from), ("$to", to));
    }

    /// <summary>Every GPU's totals over [from, to], whatever job (or none) it ran: for a report of every job.</summary>
    public IReadOnlyList<ReportGpu> AllGpus(double from, double to)
    {
        return Rows(
            $"SELECT g.node, g.uuid, g.gpu, {SummedTotals("m")} FROM gpu_minutes m JOIN gpus g ON g.seq = m.gpu_ref " +
            $"WHERE {Overlaps("m", "minute")} GROUP BY m.gpu_ref ORDER BY g.node, g.uuid",
            ReadGpu,
            ("$from", from), ("$to", to));
    }

    /// <summary>Every GPU's minutes overlapping [from, to] (merged as <see cref="JobMinutes"/> merges them), by node, GPU and minute.</summary>
    public IReadOnlyList<GpuMinute> GpuMinutes(double from, double to)
    {
        return Rows(
            $"SELECT g.node, g.uuid, g.gpu, m.minute, {SummedTotals("m")} FROM gpu_minutes m JOIN gpus g ON g.seq = m.gpu_ref " +
            $"WHERE {Overlaps("m", "minute")} GROUP BY m.gpu_ref, m.minute ORDER BY g.node, g.uuid, m.minute",
            reader =>
            {
                var minute = reader.GetInt64(3);
                return new GpuMinute(Text(reader, 0) ?? "", reader.GetString(1), reader.GetInt32(2), minute, ReadTotals(reader, 4, minute));
            },
            ("$from", from), ("$to", to));
    }

    /// <summary>First and last moment the journal saw anything in [from, to] (GPU minutes and violations).</summary>
    public JobSighting? AnySighting(double from, double to)
    {
        using var command = Command($"""
            SELECT min(first), max(last) FROM (
                SELECT min(minute + first_ms / 1000.0) first, max(minute + last_ms / 1000.0) last FROM gpu_minutes m
                    WHERE {Overlaps("m", "minute")}
                UNION ALL
                SELECT min(v.start_t), max(coalesce(e.end_t, v.start_t)) FROM violations v LEFT JOIN violation_ends e ON e.id = v.id
                    WHERE v.start_t <= $to AND (e.end_t IS NULL OR e.end_t >= $from))
            """, ("$from", from), ("$to", to));
        using var reader = command.ExecuteReader();
        return reader.Read() && !reader.IsDBNull(0) ? new JobSighting(reader.GetDouble(0), reader.GetDouble(1), null) : null;
    }

    /// <summary>First and last moment the journal saw the job in [from, to] (summaries and violations), and a user it names.</summary>
    public JobSighting? Sighting(string job, double from, double to)
    {
        using var command = Command($"""
            SELECT min(first), max(last), max(user) FROM (
                SELECT min(minute + first_ms / 1000.0) first, max(minute + last_ms / 1000.0) last, max(user) user FROM job_minutes j
                    WHERE job = $job AND {Overlaps("j", "minute")}
                UNION ALL
                SELECT min(r.period + r.first_ms / 1000.0), max(r.period + r.last_ms / 1000.0), max(p.user) FROM processes p
                    JOIN (SELECT process_ref, period, first_ms, last_ms FROM process_periods UNION ALL SELECT process_ref, period, first_ms, last_ms FROM process_pending) r ON r.process_ref = p.seq
                    WHERE p.job = $job AND {Overlaps("r", "period")}
                UNION ALL
                SELECT min(v.start_t), max(coalesce(e.end_t, v.start_t)), max(v.user) FROM violations v LEFT JOIN violation_ends e ON e.id = v.id
                    WHERE v.job = $job AND v.start_t <= $to AND (e.end_t IS NULL OR e.end_t >= $from))
            """, ("$job", job), ("$from", from), ("$to", to));
        using var reader = command.ExecuteReader();
        return reader.Read() && !reader.IsDBNull(0) ? new JobSighting(reader.GetDouble(0), reader.GetDouble(1), Text(reader, 2)) : null;
    }

    /// <summary>The id in the journal's first row, and the wall-clock times of the runs that wrote it.</summary>
    public IReadOnlyList<JournalRun> Runs()
    {
        using var command = Command("SELECT seq, journal_id, t, node, version, note FROM runs ORDER BY seq");
        using var reader = command.ExecuteReader();
        var runs = new List<JournalRun>();
        while (reader.Read())
        {
            runs.Add(new JournalRun(reader.GetInt64(0), Text(reader, 1) ?? "", reader.GetDouble(2), Text(reader, 3), Text(reader, 4), Text(reader, 5)));
        }

        return runs;
    }

    /// <summary>The kernels a job's processes launched in [from, to] (kernel ledger totals), most launched first.</summary>
    public IReadOnlyList<KernelLaunchRow> ProcessKernels(string job, double from, double to)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT node, pid, job, comm, kernel, launches, first_t, last_t, hash_constants FROM process_kernels " +
            "WHERE job = $job AND last_t >= $from AND first_t <= $to ORDER BY launches DESC, node, pid, kernel";
        command.Parameters.AddWithValue("$job", job);
        command.Parameters.AddWithValue("$from", from);
        command.Parameters.AddWithValue("$to", to);
        var rows = new List<KernelLaunchRow>();
        try
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add(new KernelLaunchRow(reader.GetString(0), reader.GetInt32(1), reader.GetString(2) is { Length: > 0 } j ? j : null, reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetString(4), reader.GetInt64(5), reader.GetDouble(6), reader.GetDouble(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
            }
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 1)
        {
            // A journal written before the kernel ledger has no such table: no kernels.
        }

        return rows;
    }

    public void Dispose() => _connection.Dispose();

    /// <summary>A row of <paramref name="alias"/> (start column <paramref name="start"/>, ms offsets) overlapping [$from, $to].</summary>
    private static string Overlaps(string alias, string start) =>
        $"{alias}.{start} + {alias}.last_ms / 1000.0 >= $from AND {alias}.{start} + {alias}.first_ms / 1000.0 <= $to";

    /// <summary>The totals summed over a group: min first, max last, sums, and the utilization's weighted sum and weight.</summary>
    private static string SummedTotals(string alias) =>
        $"min({alias}.first_ms), max({alias}.last_ms), " +
        string.Join(", ", WorkloadClassNames.All.Select(c => $"sum({alias}.{c.Label()}_ms)")) +
        $", sum({alias}.energy_mj), sum(CASE WHEN {alias}.util_ppm IS NULL THEN 0 ELSE {alias}.util_ppm * {alias}.util_ms END), " +
        $"sum(CASE WHEN {alias}.util_ppm IS NULL THEN 0 ELSE {alias}.util_ms END)";

    /// <summary>Reads <see cref="SummedTotals"/> at <paramref name="first"/>; times are offsets from <paramref name="start"/>.</summary>
    private static MinuteTotals ReadTotals(SqliteDataReader reader, int first, long start)
    {
        var seconds = new ClassSeconds();
        foreach (var value in WorkloadClassNames.All)
        {
            seconds.Add(value, reader.GetInt64(first + 2 + (int)value) / 1000.0);
        }

        var after = first + 2 + WorkloadClassNames.All.Count;
        var weighted = reader.GetInt64(after + 1);
        var weight = reader.GetInt64(after + 2);
        return new MinuteTotals(start + (reader.GetInt64(first) / 1000.0), start + (reader.GetInt64(first + 1) / 1000.0), seconds,
            reader.GetInt64(after) / 1000.0, weight > 0 ? weighted / (double)weight / 1e6 : null, weight / 1000.0);
    }

    /// <summary>
    /// A violation from the columns id, rule, node, gpu, uuid, pid, job, user, executable, start_t,
    /// end_t, evidence, allowance starting at <paramref name="first"/> (schema 1 and 2 alike).
    /// </summary>
    internal static Violation ReadViolation(SqliteDataReader reader, int first = 0)
    {
        var (evidence, context) = JournalJson.ParseEvidence(reader.GetString(first + 11));
        return new()
        {
            Id = reader.GetString(first),
            Rule = JournalJson.ParseRule(reader.GetString(first + 1)),
            Node = Text(reader, first + 2),
            Gpu = reader.GetInt32(first + 3),
            Uuid = reader.GetString(first + 4),
            Pid = reader.IsDBNull(first + 5) ? null : reader.GetInt32(first + 5),
            Job = Text(reader, first + 6),
            User = Text(reader, first + 7),
            Executable = Text(reader, first + 8),
            Start = reader.GetDouble(first + 9),
            End = reader.IsDBNull(first + 10) ? null : reader.GetDouble(first + 10),
            Evidence = evidence,
            Context = context,
            AllowedBy = Text(reader, first + 12) is { } allowance ? JournalJson.ParseAllowance(allowance) : null,
        };
    }

    private static ReportGpu ReadGpu(SqliteDataReader reader)
    {
        var totals = ReadTotals(reader, 3, 0);
        return new ReportGpu(Text(reader, 0) ?? "", reader.GetString(1), reader.GetInt32(2), totals.ClassSeconds, totals.EnergyJoules, totals.MeanUtilization);
    }

    internal static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>The rows <paramref name="read"/> makes of each result row of <paramref name="sql"/>.</summary>
    private List<T> Rows<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters) =>
        JournalWriter.Command(_connection, sql, null, parameters);
}
