namespace GpuAudit.Agent.Journal;

/// <summary>
/// The journal's tables (docs/journal.md). <see cref="Version"/> goes into PRAGMA user_version;
/// bump it with a migration when a table changes, so an old agent never misreads a new journal.
/// Every table but <c>process_pending</c> is a link of the hash chain: its rowid is the row's
/// place in the chain (<c>seq</c>, one sequence across tables) and <c>prev</c> is the hash of the
/// row before it (<see cref="RowHash"/>). Rows are only ever appended, never updated; retention
/// deletes old rows and says so in a chained <c>prunes</c> row.
/// </summary>
internal static class JournalSchema
{
    public const int Version = 3;

    /// <summary>Process rows are rolled up into periods of this many seconds (one row per process per period).</summary>
    public const long ProcessPeriodSeconds = 600;

    public static readonly ChainedTable Runs = new("runs",
        [("journal_id", ColumnType.Text), ("t", ColumnType.Real), ("node", ColumnType.Text), ("version", ColumnType.Text), ("note", ColumnType.Text)]);

    public static readonly ChainedTable Gpus = new("gpus",
        [("node", ColumnType.Text), ("uuid", ColumnType.Text), ("gpu", ColumnType.Integer)]);

    public static readonly ChainedTable Violations = new("violations",
    [
        ("id", ColumnType.Text), ("rule", ColumnType.Text), ("severity", ColumnType.Text), ("node", ColumnType.Text), ("gpu", ColumnType.Integer),
        ("uuid", ColumnType.Text), ("pid", ColumnType.Integer), ("job", ColumnType.Text), ("user", ColumnType.Text), ("executable", ColumnType.Text),
        ("start_t", ColumnType.Real), ("evidence", ColumnType.Text), ("allowance", ColumnType.Text),
    ]);

    public static readonly ChainedTable ViolationEnds = new("violation_ends", [("id", ColumnType.Text), ("end_t", ColumnType.Real)]);

    public static readonly ChainedTable GpuMinutes = new("gpu_minutes", [("gpu_ref", ColumnType.Integer), ("minute", ColumnType.Integer), .. TotalsColumns()]);

    public static readonly ChainedTable JobMinutes = new("job_minutes",
        [("gpu_ref", ColumnType.Integer), ("job", ColumnType.Text), ("user", ColumnType.Text), ("minute", ColumnType.Integer), .. TotalsColumns()]);

    /// <summary>
    /// GPU-seconds diverted from a job per GPU and minute (Core's DivertedTime, the one definition the
    /// reports and the Prometheus counter share), in milliseconds; only minutes with diverted time.
    /// Schema 3: a schema-2 journal gets the table when an agent opens it.
    /// </summary>
    public static readonly ChainedTable JobDiverted = new("job_diverted",
        [("gpu_ref", ColumnType.Integer), ("job", ColumnType.Text), ("minute", ColumnType.Integer), ("diverted_ms", ColumnType.Integer)]);

    public static readonly ChainedTable Processes = new("processes",
    [
        ("gpu_ref", ColumnType.Integer), ("pid", ColumnType.Integer), ("job", ColumnType.Text), ("user", ColumnType.Text), ("comm", ColumnType.Text),
        ("executable", ColumnType.Text),
    ]);

    public static readonly ChainedTable ProcessPeriods = new("process_periods", [("process_ref", ColumnType.Integer), ("period", ColumnType.Integer), .. TotalsColumns()]);

    public static readonly ChainedTable Prunes = new("prunes", [("before_t", ColumnType.Real), ("through_seq", ColumnType.Integer), ("deleted", ColumnType.Integer)]);

    /// <summary>Every chained table, in the order <c>verify</c> names them.</summary>
    public static readonly IReadOnlyList<ChainedTable> Chained = [Runs, Gpus, Violations, ViolationEnds, GpuMinutes, JobMinutes, JobDiverted, Processes, ProcessPeriods, Prunes];

    public static string Create => $"""
        CREATE TABLE IF NOT EXISTS {Runs.CreateSql};
        CREATE TABLE IF NOT EXISTS {Gpus.CreateSql};
        CREATE TABLE IF NOT EXISTS {Violations.CreateSql};
        CREATE UNIQUE INDEX IF NOT EXISTS violations_by_id ON violations (id);
        CREATE INDEX IF NOT EXISTS violations_by_job ON violations (job, start_t);
        CREATE TABLE IF NOT EXISTS {ViolationEnds.CreateSql};
        CREATE UNIQUE INDEX IF NOT EXISTS violation_ends_by_id ON violation_ends (id);
        CREATE TABLE IF NOT EXISTS {GpuMinutes.CreateSql};
        CREATE TABLE IF NOT EXISTS {JobMinutes.CreateSql};
        CREATE INDEX IF NOT EXISTS job_minutes_by_job ON job_minutes (job, minute);
        CREATE TABLE IF NOT EXISTS {JobDiverted.CreateSql};
        CREATE INDEX IF NOT EXISTS job_diverted_by_job ON job_diverted (job, minute);
        CREATE TABLE IF NOT EXISTS {Processes.CreateSql};
        CREATE INDEX IF NOT EXISTS processes_by_job ON processes (job);
        CREATE TABLE IF NOT EXISTS {ProcessPeriods.CreateSql};
        CREATE INDEX IF NOT EXISTS process_periods_by_process ON process_periods (process_ref, period);
        CREATE TABLE IF NOT EXISTS process_pending (
            process_ref INTEGER NOT NULL, period INTEGER NOT NULL, {string.Join(", ", TotalsColumns().Select(c => c.Name + " INTEGER"))});
        CREATE TABLE IF NOT EXISTS {Prunes.CreateSql};
        CREATE TABLE IF NOT EXISTS process_kernels (
            node TEXT NOT NULL, pid INTEGER NOT NULL, job TEXT NOT NULL, kernel TEXT NOT NULL,
            comm TEXT, launches INTEGER NOT NULL, first_t REAL NOT NULL, last_t REAL NOT NULL, hash_constants TEXT,
            PRIMARY KEY (node, pid, job, kernel));
        """;

    /// <summary>
    /// The pending minutes of each process and period added up into one period row: times span,
    /// amounts add up, utilization stays a time-weighted mean (util_ms is 0 where it is unknown).
    /// </summary>
    public static string SumPending => $"""
        SELECT process_ref, period, min(first_ms), max(last_ms),
            {string.Join(", ", WorkloadClassNames.All.Select(c => $"sum({c.Label()}_ms)"))}, sum(energy_mj),
            CASE WHEN sum(util_ms) > 0 THEN CAST(round(sum(coalesce(util_ppm, 0) * util_ms) * 1.0 / sum(util_ms)) AS INTEGER) END, sum(util_ms)
        FROM process_pending WHERE period < $period GROUP BY process_ref, period ORDER BY period, process_ref
        """;

    /// <summary>
    /// The totals of a minute or period, in integers (an integer costs 0-4 bytes on disk, a
    /// fractional REAL 8): first and last observed moment as milliseconds from the row's start,
    /// milliseconds per class (WorkloadClass order), millijoules, utilization in millionths and
    /// the milliseconds it covers. Computed, not a field: the tables above are initialised first.
    /// </summary>
    public static IEnumerable<(string Name, ColumnType Type)> TotalsColumns() =>
        ((IEnumerable<string>)["first_ms", "last_ms", .. WorkloadClassNames.All.Select(c => c.Label() + "_ms"), "energy_mj", "util_ppm", "util_ms"])
            .Select(name => (name, ColumnType.Integer));

    /// <summary>The totals' column names, comma-separated, in <see cref="TotalsColumns"/> order.</summary>
    public static string Totals => string.Join(", ", TotalsColumns().Select(c => c.Name));
}
