using System.Globalization;
using GpuAudit.Core;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Reporting;
using GpuAudit.Core.Summaries;
using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Journal;

/// <summary>What <see cref="AuditJournal.Open"/> needs beyond the directory.</summary>
public sealed record JournalOptions
{
    /// <summary>This node's name, written in each run's first row.</summary>
    public string? Node { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public JournalMetrics? Metrics { get; init; }

    /// <summary>One line per fault (rate-limited): full disk, corrupt journal, recovery.</summary>
    public Action<string>? Warn { get; init; }

    /// <summary>Most rows held in memory while the disk refuses them; beyond it the oldest summaries go first, then the oldest violation rows.</summary>
    public int MaxPendingRows { get; init; } = 100_000;

    /// <summary>Shortest time between two attempts to write to a failing journal.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The node's audit journal (docs/journal.md): violations and per-minute summaries in SQLite,
/// every row a link of a hash chain. A violation is on disk (fsync) when <see cref="Record(PolicyResult)"/>
/// returns, before the pipeline exports it, so a kill -9 loses nothing /metrics ever showed.
/// <para>
/// A disk fault does not stop the agent: rows the disk refuses (full, I/O error) wait in memory
/// (bounded by <see cref="JournalOptions.MaxPendingRows"/>), are counted on /metrics and written
/// at the next attempt that succeeds; the violation is exported meanwhile. A corrupt journal is
/// moved aside and a new one started (its first row names the old file), never an exit.
/// </para>
/// One writer per directory, on the poll loop; readers use <see cref="JournalReader"/>.
/// </summary>
public sealed class AuditJournal : IDisposable
{
    public const string FileName = "gpuaudit-journal.db";

    private static readonly TimeSpan WarnEvery = TimeSpan.FromMinutes(1);

    private readonly JournalOptions _options;
    private readonly List<Violation> _pendingViolations = [];
    private readonly List<MinuteBatch> _pendingMinutes = [];
    private readonly Dictionary<string, Violation> _open = [];
    private JournalWriter? _writer;
    private int _pendingMinuteRows;
    private string? _closeLeftOpenNode;
    private bool _closeLeftOpenPending;
    private long _failures;
    private DateTimeOffset _nextAttempt = DateTimeOffset.MinValue;
    private DateTimeOffset _nextWarning = DateTimeOffset.MinValue;
    private bool _disposed;
    private bool _rotated;

    private AuditJournal(string directory, JournalOptions options)
    {
        Directory = directory;
        _options = options;
    }

    public string Directory { get; }

    public string Path => System.IO.Path.Combine(Directory, FileName);

    /// <summary>Id of the journal file now written (a new file after a corrupt one was moved aside).</summary>
    public string? JournalId { get; private set; }

    /// <summary>The newest row of the chain as last written.</summary>
    public ChainHead Head { get; private set; } = ChainHead.Empty;

    /// <summary>Rows waiting in memory for the disk.</summary>
    public int PendingRows => _pendingViolations.Count + _pendingMinuteRows;

    /// <summary>Write attempts that failed since the last one that succeeded.</summary>
    public long ConsecutiveFailures => _failures;

    /// <summary>
    /// Opens (creating if needed) the journal in <paramref name="directory"/>. A directory that
    /// cannot be made, a file that cannot be opened (permissions) or a newer schema is bad input
    /// (<see cref="UserInputException"/>); a corrupt file is moved aside and replaced; a full or
    /// failing disk leaves the journal open with nothing written yet, retrying as rows arrive.
    /// </summary>
    public static AuditJournal Open(string directory, JournalOptions? options = null)
    {
        try
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"journal directory {directory} cannot be created ({e.Message}); give a writable directory", e) { Input = UserInput.Journal };
        }

        var journal = new AuditJournal(directory, options ?? new JournalOptions());
        journal.OpenWriter(note: null, atStart: true);
        return journal;
    }

    /// <summary>Whether a journal exists in <paramref name="directory"/> (reports must not create one).</summary>
    public static bool Exists(string directory) => File.Exists(System.IO.Path.Combine(directory, FileName));

    /// <summary>Journals what one policy evaluation opened and closed, durably, before the caller exports it.</summary>
    public void Record(PolicyResult result)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var violation in result.Opened)
        {
            if (violation.End is null)
            {
                _open[violation.Id] = violation;
            }

            _pendingViolations.Add(violation);
        }

        foreach (var violation in result.Closed)
        {
            _open.Remove(violation.Id);
            _pendingViolations.Add(violation);
        }

        Flush(force: result.Opened.Count + result.Closed.Count > 0);
        Bound();
    }

    /// <summary>Journals completed minute summaries (one transaction for the minute).</summary>
    public void Record(MinuteBatch batch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!batch.IsEmpty)
        {
            _pendingMinutes.Add(batch);
            _pendingMinuteRows += Rows(batch);
        }

        Flush(force: !batch.IsEmpty);
        Bound();
    }

    /// <summary>
    /// Writes processes' top kernels (the kernel ledger's running totals), outside the hash chain:
    /// they are totals rewritten as they grow. On a failing disk they are dropped; the next write
    /// carries the newer totals.
    /// </summary>
    public void RecordKernels(IReadOnlyList<KernelLaunchRow> rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (rows.Count > 0 && _writer is { } writer)
        {
            TryWrite(() => writer.WriteKernels(rows));
        }
    }

    /// <summary>
    /// Closes the violations of <paramref name="node"/> that a previous run left open (it crashed
    /// or was stopped while they were active), at the last minute summary that run wrote: the
    /// last moment the evidence was known to hold. Returns how many; on a failing disk, 0 now
    /// and done with the next write that succeeds.
    /// </summary>
    public int CloseLeftOpen(string? node)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_writer is { } writer && PendingRows == 0 && TryWrite(() => writer.CloseLeftOpen(node), out var closed))
        {
            return closed;
        }

        _closeLeftOpenNode = node;
        _closeLeftOpenPending = true;
        return 0;
    }

    /// <summary>
    /// Deletes summaries older than <paramref name="before"/> and violations that closed before
    /// it (open ones are kept whatever their age: they are still true), recording the cut in the
    /// chain. Skipped while the journal is failing; the next call prunes.
    /// </summary>
    public int Prune(double before)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _writer is { } writer && TryWrite(() => writer.Prune(before), out var deleted) ? deleted : 0;
    }

    /// <summary>Writes what is pending (one last attempt), seals pending process periods into the chain and closes the file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Flush(force: true);
        if (_writer is { } writer && PendingRows == 0)
        {
            TryWrite(writer.SealAllPending);
        }

        if (PendingRows > 0)
        {
            _options.Warn?.Invoke($"journal {Path}: {PendingRows} rows could not be written before exit and are lost (see gpuaudit_journal_write_errors_total)");
        }

        _writer?.Dispose();
        _writer = null;
        _disposed = true;
    }

    /// <summary>Writes everything pending in one transaction, unless the last failure was too recent (and <paramref name="force"/> is not set).</summary>
    private void Flush(bool force)
    {
        if (PendingRows == 0 && !_closeLeftOpenPending)
        {
            return;
        }

        if (!force && _options.Time.GetUtcNow() < _nextAttempt)
        {
            return;
        }

        if (_writer is null)
        {
            OpenWriter(note: null, atStart: false);
            if (_writer is null)
            {
                return;
            }
        }

        try
        {
            if (_closeLeftOpenPending)
            {
                _writer.CloseLeftOpen(_closeLeftOpenNode);
                _closeLeftOpenPending = false;
            }

            _writer.Write(_pendingViolations, _pendingMinutes);
            if (_failures > 0)
            {
                _options.Warn?.Invoke($"journal {Path}: writing again after {_failures} failed attempts; {PendingRows} rows held in memory are now on disk");
            }

            _pendingViolations.Clear();
            _pendingMinutes.Clear();
            _pendingMinuteRows = 0;
            Written();
        }
        catch (SqliteException e) when (IsCorrupt(e))
        {
            Failed(e);
            Rotate(e.Message);
            if (_writer is not null && !_rotated)
            {
                // Once into the new file; a file corrupt again at once waits for the next attempt.
                _rotated = true;
                try
                {
                    Flush(force: true);
                }
                finally
                {
                    _rotated = false;
                }
            }
        }
        catch (SqliteException e)
        {
            Failed(e);
            if (!IsFull(e))
            {
                // An I/O error may leave the connection in a bad state: the next attempt reopens it.
                _writer?.Dispose();
                _writer = null;
            }
        }
    }

    /// <summary>One write on the open writer: a success marks the journal healthy, a SQLite failure is counted and retried later.</summary>
    private bool TryWrite<T>(Func<T> write, out T result)
    {
        try
        {
            result = write();
            Written();
            return true;
        }
        catch (SqliteException e)
        {
            Failed(e);
            result = default!;
            return false;
        }
    }

    private void TryWrite(Action write) => TryWrite(() =>
    {
        write();
        return true;
    }, out _);

    private void Written()
    {
        _failures = 0;
        _nextAttempt = DateTimeOffset.MinValue;
        if (_writer is { } writer)
        {
            Head = writer.Head;
            JournalId = writer.JournalId;
            _options.Metrics?.Head(writer.JournalId, writer.Head);
        }

        _options.Metrics?.Pending(PendingRows);
    }

    private void Failed(SqliteException e)
    {
        _failures++;
        var now = _options.Time.GetUtcNow();
        _nextAttempt = now + _options.RetryInterval;
        _options.Metrics?.WriteError();
        _options.Metrics?.Pending(PendingRows);
        if (now >= _nextWarning)
        {
            _nextWarning = now + WarnEvery;
            _options.Warn?.Invoke($"journal {Path}: write failed ({e.Message}); {PendingRows} rows held in memory and retried (violations are still exported)");
        }
    }

    /// <summary>Keeps the rows held in memory under the cap: the oldest summaries go first, violation rows last.</summary>
    private void Bound()
    {
        if (PendingRows <= _options.MaxPendingRows)
        {
            return;
        }

        var droppedSummaries = 0;
        while (PendingRows > _options.MaxPendingRows && _pendingMinutes.Count > 0)
        {
            var rows = Rows(_pendingMinutes[0]);
            _pendingMinutes.RemoveAt(0);
            _pendingMinuteRows -= rows;
            droppedSummaries += rows;
        }

        var droppedViolations = Math.Max(0, PendingRows - _options.MaxPendingRows);
        _pendingViolations.RemoveRange(0, droppedViolations);
        if (droppedSummaries > 0)
        {
            _options.Metrics?.Dropped("summary", droppedSummaries);
        }

        if (droppedViolations > 0)
        {
            _options.Metrics?.Dropped("violation", droppedViolations);
        }

        _options.Metrics?.Pending(PendingRows);
    }

    /// <summary>
    /// Opens the journal file. At start, permissions and a newer schema are the user's to fix
    /// (exit 2); a corrupt file is moved aside; a full or failing disk leaves no writer, and
    /// the next write tries again.
    /// </summary>
    private void OpenWriter(string? note, bool atStart)
    {
        try
        {
            _writer = JournalWriter.Open(Path, _options.Node, Now(), note);
            Written();
        }
        catch (SqliteException e) when (IsCorrupt(e))
        {
            Failed(e);
            Rotate(e.Message);
        }
        catch (SqliteException e) when (atStart && IsUnusable(e))
        {
            throw new UserInputException($"journal {Path} cannot be opened ({e.Message}); check its permissions or give another directory", e) { Input = UserInput.Journal };
        }
        catch (SqliteException e)
        {
            Failed(e);
        }
    }

    /// <summary>
    /// Moves a corrupt journal (and its WAL) aside and starts a new one whose first row names the
    /// old file. The open violations are written again into the new file, so it is whole on its own.
    /// </summary>
    private void Rotate(string reason)
    {
        _writer?.Dispose();
        _writer = null;
        _options.Metrics?.Corrupt();
        string aside;
        try
        {
            aside = MoveAside();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _options.Warn?.Invoke($"journal {Path} is corrupt ({reason}) and cannot be moved aside ({e.Message}); rows are held in memory");
            return;
        }

        _options.Warn?.Invoke($"journal {Path} is corrupt ({reason}); moved to {aside}, starting a new journal");
        try
        {
            _writer = JournalWriter.Open(Path, _options.Node, Now(), $"previous journal moved to {System.IO.Path.GetFileName(aside)}: {reason}");
        }
        catch (SqliteException e)
        {
            Failed(e);
            return;
        }

        var pending = _pendingViolations.Select(v => v.Id).ToHashSet();
        _pendingViolations.InsertRange(0, _open.Values.Where(v => !pending.Contains(v.Id)));
        _closeLeftOpenPending = false;
        Written();
    }

    private string MoveAside()
    {
        var stamp = Now().ToString("0", CultureInfo.InvariantCulture);
        var aside = Path + ".corrupt-" + stamp;
        for (var n = 1; File.Exists(aside); n++)
        {
            aside = Path + ".corrupt-" + stamp + "-" + n.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            if (File.Exists(Path + suffix))
            {
                File.Move(Path + suffix, aside + suffix);
            }
        }

        File.Move(Path, aside);
        return aside;
    }

    private double Now() => _options.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;

    private static int Rows(MinuteBatch batch) => batch.Gpus.Count + batch.Processes.Count + batch.Jobs.Count;

    private static int Code(SqliteException e) => e.SqliteErrorCode & 0xFF;

    /// <summary>SQLITE_CORRUPT or SQLITE_NOTADB: the file is damaged (or was tampered with).</summary>
    private static bool IsCorrupt(SqliteException e) => Code(e) is 11 or 26;

    /// <summary>SQLITE_FULL: the disk (or quota) is full; the connection stays usable.</summary>
    private static bool IsFull(SqliteException e) => Code(e) == 13;

    /// <summary>SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_READONLY, SQLITE_AUTH: the file cannot be used as configured.</summary>
    private static bool IsUnusable(SqliteException e) => Code(e) is 14 or 3 or 8 or 23;
}
