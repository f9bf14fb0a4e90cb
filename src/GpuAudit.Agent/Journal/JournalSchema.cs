using GpuAudit.Core.Summaries;
namespace GpuAudit.Agent.Journal;

/// <summary>
/// The journal's tables (docs/journal.md). <see cref="Version"/> goes into PRAGMA user_version;
/// bump it with a migration when a table changes, so an old agent never misreads a new journal.
/// </summary>
internal static class JournalSchema
{
    public const int Version = 1;

    /// <summary>Seconds by class, one column per class in WorkloadClass order.</summary>
    public const string ClassColumns = "idle_s, training_s, inference_s, compute_s, hash_s, unknown_s, mixed_s";

    private const string ClassColumnTypes =
        "idle_s REAL NOT NULL, training_s REAL NOT NULL, inference_s REAL NOT NULL, compute_s REAL NOT NULL, hash_s REAL NOT NULL, unknown_s REAL NOT NULL, mixed_s REAL NOT NULL";

    private const string Totals = "first_t REAL NOT NULL, last_t REAL NOT NULL, " + ClassColumnTypes + ", energy_j REAL NOT NULL, util_mean REAL, util_s REAL NOT NULL";

    public const string Create = $"""
        CREATE TABLE IF NOT EXISTS violations (
            id TEXT PRIMARY KEY,
            rule TEXT NOT NULL,
            severity TEXT NOT NULL,
            node TEXT,
            gpu INTEGER NOT NULL,
            uuid TEXT NOT NULL,
            pid INTEGER,
            job TEXT,
            user TEXT,
            executable TEXT,
            start_t REAL NOT NULL,
            end_t REAL,
            evidence TEXT NOT NULL,
            allowance TEXT);
        CREATE INDEX IF NOT EXISTS violations_by_job ON violations (job, start_t);
        CREATE TABLE IF NOT EXISTS gpu_minutes (
            node TEXT NOT NULL, uuid TEXT NOT NULL, gpu INTEGER NOT NULL, minute REAL NOT NULL,
            {Totals},
            PRIMARY KEY (node, uuid, minute));
        CREATE TABLE IF NOT EXISTS process_minutes (
            node TEXT NOT NULL, uuid TEXT NOT NULL, pid INTEGER NOT NULL, minute REAL NOT NULL,
            job TEXT, user TEXT, comm TEXT, executable TEXT,
            {Totals},
            PRIMARY KEY (node, uuid, pid, minute));
        CREATE INDEX IF NOT EXISTS process_minutes_by_job ON process_minutes (job, minute);
        CREATE TABLE IF NOT EXISTS process_kernels (
            node TEXT NOT NULL, pid INTEGER NOT NULL, job TEXT NOT NULL, kernel TEXT NOT NULL,
            comm TEXT, launches INTEGER NOT NULL, first_t REAL NOT NULL, last_t REAL NOT NULL, hash_constants TEXT,
            PRIMARY KEY (node, pid, job, kernel));
        CREATE TABLE IF NOT EXISTS job_minutes (
            node TEXT NOT NULL, job TEXT NOT NULL, uuid TEXT NOT NULL, gpu INTEGER NOT NULL, minute REAL NOT NULL,
            user TEXT,
            {Totals},
            PRIMARY KEY (node, job, uuid, minute));
        """;

    /// <summary>
    /// A minute written twice (flushed at shutdown, then continued after a restart) is merged:
    /// seconds and energy add up, utilization stays a time-weighted mean.
    /// </summary>
    public const string MergeTotals = """
        first_t = min(first_t, excluded.first_t), last_t = max(last_t, excluded.last_t),
        idle_s = idle_s + excluded.idle_s, training_s = training_s + excluded.training_s,
        inference_s = inference_s + excluded.inference_s, compute_s = compute_s + excluded.compute_s,
        hash_s = hash_s + excluded.hash_s, unknown_s = unknown_s + excluded.unknown_s, mixed_s = mixed_s + excluded.mixed_s,
        energy_j = energy_j + excluded.energy_j,
        util_mean = CASE WHEN util_s + excluded.util_s > 0
            THEN (coalesce(util_mean, 0) * util_s + coalesce(excluded.util_mean, 0) * excluded.util_s) / (util_s + excluded.util_s) END,
        util_s = util_s + excluded.util_s
        """;
}
