using System.Globalization;
using GpuAudit.Core;
using GpuAudit.Core.Classification;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Reporting;
using GpuAudit.Core.Summaries;
using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// One open journal file and its prepared statements. Every method runs one transaction and
/// either commits all of it or throws with nothing written (the in-memory chain head and id
/// caches roll back with it); <see cref="AuditJournal"/> decides what a failure means. Not
/// thread-safe: the journal is written from the poll loop only.
/// </summary>
internal sealed class JournalWriter : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly RowHash _hash = new();
    private readonly Dictionary<ChainedTable, ChainedInsert> _inserts = [];
    private readonly Dictionary<(string? Node, string Uuid), long> _gpuRefs = [];
    private readonly Dictionary<ProcessKey, ProcessEntry> _processRefs = [];
    private readonly List<object> _addedInTransaction = [];
    private readonly PreparedStatement _insertPending;
    private readonly SqliteCommand _violationExists;
    private readonly SqliteCommand _endExists;
    private readonly SqliteCommand _findGpu;
    private bool? _fullSync;

    private JournalWriter(SqliteConnection connection, string path, string journalId, ChainHead head)
    {
        _connection = connection;
        Path = path;
        JournalId = journalId;
        Head = head;
        foreach (var table in JournalSchema.Chained)
        {
            _inserts[table] = new ChainedInsert(connection, table, _hash);
        }

        var totals = JournalSchema.Totals;
        _insertPending = new PreparedStatement(connection,
            $"INSERT INTO process_pending (process_ref, period, {totals}) VALUES ({string.Join(", ", Enumerable.Range(1, 2 + JournalSchema.TotalsColumns().Count()).Select(i => "?" + i))})");
        _violationExists = Prepare("SELECT 1 FROM violations WHERE id = $id", ["$id"]);
        _endExists = Prepare("SELECT 1 FROM violation_ends WHERE id = $id", ["$id"]);
        _findGpu = Prepare("SELECT seq FROM gpus WHERE node IS $node AND uuid = $uuid ORDER BY seq LIMIT 1", ["$node", "$uuid"]);
    }

    public string Path { get; }

    /// <summary>Random id of this journal file, in its first <c>runs</c> row; a new file gets a new one.</summary>
    public string JournalId { get; }

    public ChainHead Head { get; private set; }

    /// <summary>
    /// Opens (creating or migrating if needed) the journal at <paramref name="path"/>, checks it
    /// (PRAGMA quick_check) and appends a <c>runs</c> row. Throws <see cref="SqliteException"/>
    /// for faults (corrupt file, full disk) and <see cref="UserInputException"/> for a journal of
    /// a newer schema.
    /// </summary>
    public static JournalWriter Open(string path, string? node, double now, string? note)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL;");
            var version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version"), CultureInfo.InvariantCulture);
            if (version > JournalSchema.Version)
            {
                throw new UserInputException($"journal {path} has schema {version}, newer than this gpuaudit ({JournalSchema.Version}); use a newer gpuaudit or another directory") { Input = UserInput.Journal };
            }

            if (Scalar(connection, "PRAGMA quick_check(1)") is not "ok" and var problem)
            {
                throw new SqliteException($"quick_check: {problem}", 11);
            }

            using (var transaction = connection.BeginTransaction())
            {
                if (version == 1)
                {
                    JournalMigration.RenameVersion1Tables(connection, transaction);
                }

                Execute(connection, JournalSchema.Create, transaction);
                Execute(connection, $"PRAGMA user_version={JournalSchema.Version}", transaction);
                transaction.Commit();
            }

            var head = ReadHead(connection);
            var journalId = Scalar(connection, "SELECT journal_id FROM runs ORDER BY seq LIMIT 1") as string ?? Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
            var writer = new JournalWriter(connection, path, journalId, head);
            if (JournalMigration.HasVersion1Tables(connection))
            {
                JournalMigration.CopyVersion1(writer, connection);
            }

            writer.AppendRun(node, now, note);
            return writer;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes violations (opened, or with their end once closed) and minute summaries in one transaction, durable
    /// (fsync) on return when it holds a violation. <paramref name="alongside"/> runs in the same
    /// transaction (the migration deletes what it copied).
    /// </summary>
    public void Write(IReadOnlyList<Violation> violations, IReadOnlyList<MinuteBatch> batches, Action<SqliteTransaction>? alongside = null)
    {
        SetFullSync(violations.Count > 0);
        Transact(transaction =>
        {
            foreach (var violation in violations)
            {
                WriteViolation(violation, transaction);
            }

            foreach (var batch in batches)
            {
                WriteMinutes(batch, transaction);
            }

            alongside?.Invoke(transaction);
        });
    }

    /// <summary>Closes what a previous run of <paramref name="node"/> left open, at its last minute summary.</summary>
    public int CloseLeftOpen(string? node)
    {
        SetFullSync(true);
        var closed = 0;
        Transact(transaction =>
        {
            var lastSummary = Scalar(_connection,
                "SELECT max(m.minute + m.last_ms / 1000.0) FROM (SELECT gpu_ref, minute, last_ms FROM gpu_minutes ORDER BY seq DESC LIMIT 1000) m " +
                "JOIN gpus g ON g.seq = m.gpu_ref WHERE g.node IS $node", transaction, ("$node", node)) is double last ? last : (double?)null;
            var open = new List<(string Id, double Start)>();
            using (var command = Command(
                "SELECT v.id, v.start_t FROM violations v WHERE v.node IS $node AND NOT EXISTS (SELECT 1 FROM violation_ends e WHERE e.id = v.id) ORDER BY v.seq",
                transaction, ("$node", node)))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    open.Add((reader.GetString(0), reader.GetDouble(1)));
                }
            }

            foreach (var (id, start) in open)
            {
                Head = _inserts[JournalSchema.ViolationEnds].Begin(Head).Text(id).Real(Math.Max(start, lastSummary ?? start)).Append();
            }

            closed = open.Count;
        });
        return closed;
    }

    /// <summary>
    /// Deletes summaries older than <paramref name="before"/> and violations that closed before
    /// it, and appends a <c>prunes</c> row naming the newest row deleted (so <c>verify</c> can
    /// tell retention from a deletion).
    /// </summary>
    public int Prune(double before)
    {
        SetFullSync(false);
        var deleted = 0;
        Transact(transaction =>
        {
            var period = JournalSchema.ProcessPeriodSeconds;
            string[] conditions =
            [
                "gpu_minutes WHERE minute + 60 <= $before",
                "job_minutes WHERE minute + 60 <= $before",
                $"process_periods WHERE period + {period} <= $before",
                "violation_ends WHERE end_t < $before",
                "violations WHERE id IN (SELECT id FROM violation_ends WHERE end_t < $before)",
                "job_diverted WHERE minute + 60 <= $before",
            ];
            var through = conditions.Select(c => Scalar(_connection, "SELECT max(seq) FROM " + c, transaction, ("$before", before)) is long s ? s : 0).Max();

            // Violations first: their ends say which to delete.
            deleted += Execute(_connection, "DELETE FROM " + conditions[4], transaction, ("$before", before));
            foreach (var condition in conditions[..4].Append(conditions[5]))
            {
                deleted += Execute(_connection, "DELETE FROM " + condition, transaction, ("$before", before));
            }

            Execute(_connection, $"DELETE FROM process_pending WHERE period + {period} <= $before", transaction, ("$before", before));
            // Kernel totals are outside the chain: pruned with the rest, not counted in the chain's prune record.
            Execute(_connection, "DELETE FROM process_kernels WHERE last_t < $before", transaction, ("$before", before));
            // Process identities go with their last summary; the cache forgets exactly those.
            var unused = new HashSet<long>();
            using (var command = Command(
                "SELECT seq FROM processes WHERE NOT EXISTS (SELECT 1 FROM process_periods p WHERE p.process_ref = processes.seq) " +
                "AND NOT EXISTS (SELECT 1 FROM process_pending p WHERE p.process_ref = processes.seq)", transaction))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    unused.Add(reader.GetInt64(0));
                }
            }

            foreach (var seq in unused)
            {
                deleted += Execute(_connection, "DELETE FROM processes WHERE seq = $seq", transaction, ("$seq", seq));
                through = Math.Max(through, seq);
            }

            foreach (var key in _processRefs.Where(e => unused.Contains(e.Value.Seq)).Select(e => e.Key).ToList())
            {
                _processRefs.Remove(key);
            }
            if (deleted > 0)
            {
                Head = _inserts[JournalSchema.Prunes].Begin(Head).Real(before).Integer(through).Integer(deleted).Append();
            }
        });
        return deleted;
    }

    /// <summary>Upserts processes' top kernels: a row per node, pid, job ("" for none) and kernel, its launches only growing.</summary>
    public void WriteKernels(IReadOnlyList<KernelLaunchRow> rows)
    {
        SetFullSync(false);
        Transact(transaction =>
        {
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
        });
    }

    /// <summary>Seals every pending process period (clean shutdown): the chain then covers all of it.</summary>
    public void SealAllPending()
    {
        SetFullSync(false);
        Transact(transaction => SealPending(long.MaxValue, transaction));
    }

    public void Dispose()
    {
        foreach (var insert in _inserts.Values)
        {
            insert.Dispose();
        }

        _insertPending.Dispose();
        _violationExists.Dispose();
        _endExists.Dispose();
        _findGpu.Dispose();
        _connection.Dispose();
    }

    /// <summary>The newest row of the chain, hashed from what is on disk.</summary>
    private static ChainHead ReadHead(SqliteConnection connection)
    {
        var newest = JournalSchema.Chained
            .Select(t => (Table: t, Seq: Scalar(connection, $"SELECT max(seq) FROM {t.Name}") is long s ? s : 0))
            .MaxBy(t => t.Seq);
        if (newest.Seq == 0)
        {
            return ChainHead.Empty;
        }

        using var rows = new ChainRowReader(connection, newest.Table, newest.Seq - 1);
        return rows.Read() is { } row ? new ChainHead(row.Seq, row.Hash) : ChainHead.Empty;
    }

    private void AppendRun(string? node, double now, string? note)
    {
        SetFullSync(true);
        Transact(transaction =>
        {
            Head = _inserts[JournalSchema.Runs].Begin(Head)
                .Text(JournalId).Real(now).Text(node).Text(typeof(JournalWriter).Assembly.GetName().Version?.ToString()).Text(note)
                .Append();
        });
    }

    private void WriteOpen(Violation v, SqliteTransaction transaction)
    {
        if (!Exists(_violationExists, v.Id, transaction))
        {
            Head = _inserts[JournalSchema.Violations].Begin(Head)
                .Text(v.Id).Text(v.Rule.Label()).Text(v.Severity.Label()).Text(v.Node).Integer(v.Gpu)
                .Text(v.Uuid).Integer(v.Pid).Text(v.Job).Text(v.User).Text(v.Executable)
                .Real(v.Start).Text(JournalJson.WriteEvidence(v.Evidence, v.Context)).Text(v.AllowedBy is { } a ? JournalJson.WriteAllowance(a) : null)
                .Append();
        }
    }

    /// <summary>
    /// The opening row unless the file has it, then the end row if the violation has ended and
    /// the file has none. So a close whose opening never reached this file (lost with a
    /// corrupt journal) writes the opening first, and the record stays whole.
    /// </summary>
    private void WriteViolation(Violation v, SqliteTransaction transaction)
    {
        WriteOpen(v, transaction);
        if (v.End is { } end && !Exists(_endExists, v.Id, transaction))
        {
            Head = _inserts[JournalSchema.ViolationEnds].Begin(Head).Text(v.Id).Real(end).Append();
        }
    }

    private void WriteMinutes(MinuteBatch batch, SqliteTransaction transaction)
    {
        var newestMinute = long.MinValue;
        foreach (var row in batch.Gpus)
        {
            var minute = (long)row.Minute;
            newestMinute = Math.Max(newestMinute, minute);
            var gpu = GpuRef(row.Node, row.Uuid, row.Gpu, transaction);
            var insert = _inserts[JournalSchema.GpuMinutes].Begin(Head).Integer(gpu).Integer(minute);
            Totals(insert, row.Totals, minute);
            Head = insert.Append();
        }

        foreach (var row in batch.Jobs)
        {
            var minute = (long)row.Minute;
            newestMinute = Math.Max(newestMinute, minute);
            // References are resolved before Begin: resolving may append a gpus row first.
            var gpu = GpuRef(row.Node, row.Uuid, row.Gpu, transaction);
            var insert = _inserts[JournalSchema.JobMinutes].Begin(Head).Integer(gpu).Text(row.Job).Text(row.User).Integer(minute);
            Totals(insert, row.Totals, minute);
            Head = insert.Append();
            if (Math.Round(row.DivertedSeconds * 1000) is var divertedMs and > 0)
            {
                Head = _inserts[JournalSchema.JobDiverted].Begin(Head).Integer(gpu).Text(row.Job).Integer(minute).Integer((long)divertedMs).Append();
            }
        }

        foreach (var row in batch.Processes)
        {
            var minute = (long)row.Minute;
            newestMinute = Math.Max(newestMinute, minute);
            var period = PeriodOf(minute);
            var processRef = ProcessRef(row, period, transaction);
            _insertPending.Bind(1, processRef);
            _insertPending.Bind(2, period);
            var i = 3;
            foreach (var value in Encode(row.Totals, period))
            {
                _insertPending.Bind(i++, value);
            }

            _insertPending.Execute();
        }

        if (newestMinute != long.MinValue)
        {
            SealPending(PeriodOf(newestMinute), transaction);
        }
    }

    /// <summary>Moves pending process periods that started before <paramref name="period"/> into the chain.</summary>
    private void SealPending(long period, SqliteTransaction transaction)
    {
        var due = new List<long?[]>();
        using (var command = Command(JournalSchema.SumPending, transaction, ("$period", period)))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var values = new long?[reader.FieldCount];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = reader.IsDBNull(i) ? null : reader.GetInt64(i);
                }

                due.Add(values);
            }
        }

        if (due.Count == 0)
        {
            return;
        }

        var insert = _inserts[JournalSchema.ProcessPeriods];
        foreach (var values in due)
        {
            insert.Begin(Head);
            foreach (var value in values)
            {
                insert.Integer(value);
            }

            Head = insert.Append();
        }

        Execute(_connection, "DELETE FROM process_pending WHERE period < $period", transaction, ("$period", period));
        var stale = _processRefs.Where(e => e.Value.LastPeriod < period - JournalSchema.ProcessPeriodSeconds).Select(e => e.Key).ToList();
        foreach (var key in stale)
        {
            _processRefs.Remove(key);
        }
    }

    private static long PeriodOf(long minute) => (long)Math.Floor(minute / (double)JournalSchema.ProcessPeriodSeconds) * JournalSchema.ProcessPeriodSeconds;

    private static void Totals(ChainedInsert insert, MinuteTotals totals, long start)
    {
        foreach (var value in Encode(totals, start))
        {
            insert.Integer(value);
        }
    }

    /// <summary>The totals as stored (JournalSchema.TotalsColumns): integers relative to <paramref name="start"/>.</summary>
    private static IEnumerable<long?> Encode(MinuteTotals totals, long start)
    {
        yield return Milliseconds(totals.FirstTime - start);
        yield return Milliseconds(totals.LastTime - start);
        foreach (var value in WorkloadClassNames.All)
        {
            yield return Milliseconds(totals.ClassSeconds[value]);
        }

        yield return (long)Math.Round(totals.EnergyJoules * 1000);
        yield return totals.MeanUtilization is { } u ? (long)Math.Round(u * 1e6) : null;
        yield return Milliseconds(totals.UtilizationSeconds);
    }

    private static long Milliseconds(double seconds) => (long)Math.Round(seconds * 1000);

    private long GpuRef(string? node, string uuid, int gpu, SqliteTransaction transaction)
    {
        if (_gpuRefs.TryGetValue((node, uuid), out var known))
        {
            return known;
        }

        _findGpu.Parameters[0].Value = node is null ? DBNull.Value : node;
        _findGpu.Parameters[1].Value = uuid;
        _findGpu.Transaction = transaction;
        if (_findGpu.ExecuteScalar() is not long seq)
        {
            Head = _inserts[JournalSchema.Gpus].Begin(Head).Text(node).Text(uuid).Integer(gpu).Append();
            seq = Head.Seq;
        }

        _gpuRefs[(node, uuid)] = seq;
        _addedInTransaction.Add((node, uuid));
        return seq;
    }

    private long ProcessRef(ProcessMinute row, long period, SqliteTransaction transaction)
    {
        var key = new ProcessKey(row.Node, row.Uuid, row.Pid, row.Job, row.User, row.Comm, row.Executable);
        if (_processRefs.TryGetValue(key, out var known))
        {
            known.LastPeriod = Math.Max(known.LastPeriod, period);
            return known.Seq;
        }

        // The GPU row is written first: a minute's batch lists its GPUs before its processes.
        var gpu = GpuRef(row.Node, row.Uuid, -1, transaction);
        Head = _inserts[JournalSchema.Processes].Begin(Head)
            .Integer(gpu).Integer(row.Pid).Text(row.Job).Text(row.User).Text(row.Comm).Text(row.Executable)
            .Append();
        _processRefs[key] = new ProcessEntry(Head.Seq) { LastPeriod = period };
        _addedInTransaction.Add(key);
        return Head.Seq;
    }

    private static bool Exists(SqliteCommand query, string id, SqliteTransaction transaction)
    {
        query.Parameters[0].Value = id;
        query.Transaction = transaction;
        return query.ExecuteScalar() is not null;
    }

    /// <summary>Runs <paramref name="body"/> in a transaction; on failure nothing of it stays, in the file or in memory.</summary>
    private void Transact(Action<SqliteTransaction> body)
    {
        var head = Head;
        _addedInTransaction.Clear();
        try
        {
            using var transaction = _connection.BeginTransaction();
            body(transaction);
            transaction.Commit();
        }
        catch
        {
            Head = head;
            foreach (var added in _addedInTransaction)
            {
                if (added is ProcessKey process)
                {
                    _processRefs.Remove(process);
                }
                else
                {
                    _gpuRefs.Remove(((string?, string))added);
                }
            }

            throw;
        }
        finally
        {
            _addedInTransaction.Clear();
        }
    }

    /// <summary>
    /// synchronous=FULL for violations (on disk before they are exported, even across a power
    /// cut); NORMAL for summaries (in the WAL at once, synced with the next FULL commit or
    /// checkpoint: a power cut may lose the last minutes, a kill -9 loses nothing committed).
    /// </summary>
    private void SetFullSync(bool full)
    {
        if (_fullSync != full)
        {
            Execute(_connection, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
            _fullSync = full;
        }
    }

    private SqliteCommand Prepare(string sql, string[] names)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in names)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    private SqliteCommand Command(string sql, SqliteTransaction transaction, params (string Name, object? Value)[] parameters) =>
        Command(_connection, sql, transaction, parameters);

    /// <summary>A command of <paramref name="sql"/> on <paramref name="connection"/>, its parameters bound (null as SQL NULL).</summary>
    internal static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    internal static int Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, sql, transaction, parameters);
        return command.ExecuteNonQuery();
    }

    internal static object? Scalar(SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, sql, transaction, parameters);
        return command.ExecuteScalar();
    }

    private sealed record ProcessKey(string? Node, string Uuid, int Pid, string? Job, string? User, string? Comm, string? Executable);

    private sealed class ProcessEntry(long seq)
    {
        public long Seq { get; } = seq;

        public long LastPeriod { get; set; }
    }
}
