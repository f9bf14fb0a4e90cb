using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// One SQL statement compiled once on the connection and re-bound by position for every row:
/// the journal's hot path. SqliteCommand looks every parameter up by name on every execution,
/// which cost more than the insert itself (about 15 µs a row for the 256 process rows of a
/// minute at 8x32); binding by index through SQLitePCL (the library under Microsoft.Data.Sqlite,
/// on the same connection and so inside its transactions) costs a fraction of that.
/// </summary>
internal sealed class PreparedStatement : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;

    public PreparedStatement(SqliteConnection connection, string sql)
    {
        _connection = connection;
        Check(raw.sqlite3_prepare_v2(connection.Handle, sql, out _statement));
    }

    /// <summary>Binds parameter <paramref name="index"/> (1-based, <c>?NNN</c> in the SQL).</summary>
    public void Bind(int index, long? value) =>
        Check(value is { } v ? raw.sqlite3_bind_int64(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));

    public void Bind(int index, double? value) =>
        Check(value is { } v ? raw.sqlite3_bind_double(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));

    public void Bind(int index, string? value) =>
        Check(value is not null ? raw.sqlite3_bind_text(_statement, index, value) : raw.sqlite3_bind_null(_statement, index));

    public void Bind(int index, ReadOnlySpan<byte> value) => Check(raw.sqlite3_bind_blob(_statement, index, value));

    /// <summary>Runs the statement (an INSERT: no rows back) and makes it ready for the next bindings.</summary>
    public void Execute()
    {
        var step = raw.sqlite3_step(_statement);
        var reset = raw.sqlite3_reset(_statement);
        if (step != raw.SQLITE_DONE)
        {
            Check(step);
            Check(reset);
            throw new SqliteException($"journal statement returned {step} where it should have finished", step);
        }
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int rc) => SqliteException.ThrowExceptionForRC(rc, _connection.Handle);
}
