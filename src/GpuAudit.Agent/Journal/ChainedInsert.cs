using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Journal;

/// <summary>The newest link of the chain: its seq and its hash (what the next row carries as prev).</summary>
public sealed record ChainHead(long Seq, byte[] Hash)
{
    public static ChainHead Empty { get; } = new(0, RowHash.Genesis);

    public string HashHex => Convert.ToHexStringLower(Hash);
}

/// <summary>
/// One prepared INSERT into a chained table, re-bound for every row: the SQL is compiled once
/// per connection, not once per row. Each value is bound and hashed in the same call, so the
/// row on disk and its hash cannot disagree. Usage: <see cref="Begin"/>, one value per column
/// in table order, <see cref="Append"/>.
/// </summary>
internal sealed class ChainedInsert : IDisposable
{
    private readonly ChainedTable _table;
    private readonly PreparedStatement _statement;
    private readonly RowHash _hash;
    private int _next;
    private long _rowSeq;

    public ChainedInsert(SqliteConnection connection, ChainedTable table, RowHash hash)
    {
        _table = table;
        _hash = hash;
        _statement = new PreparedStatement(connection, table.InsertSql);
    }

    public ChainedInsert Begin(ChainHead head)
    {
        _rowSeq = head.Seq + 1;
        _hash.Begin(_table, _rowSeq, head.Hash);
        _statement.Bind(1, _rowSeq);
        _statement.Bind(2, head.Hash);
        _next = 0;
        return this;
    }

    public ChainedInsert Integer(long? value)
    {
        _statement.Bind(Next(ColumnType.Integer), value);
        _hash.Integer(value);
        return this;
    }

    public ChainedInsert Real(double? value)
    {
        _statement.Bind(Next(ColumnType.Real), value);
        _hash.Real(value);
        return this;
    }

    public ChainedInsert Text(string? value)
    {
        _statement.Bind(Next(ColumnType.Text), value);
        _hash.Text(value);
        return this;
    }

    /// <summary>Writes the row (inside the connection's open transaction) and returns the new head.</summary>
    public ChainHead Append()
    {
        Debug.Assert(_next == _table.Columns.Count, $"{_table.Name}: {_next} of {_table.Columns.Count} columns bound");
        _statement.Execute();
        return new ChainHead(_rowSeq, _hash.Finish());
    }

    public void Dispose() => _statement.Dispose();

    /// <summary>The 1-based parameter of the next column (after seq and prev).</summary>
    private int Next(ColumnType type)
    {
        Debug.Assert(_table.Columns[_next].Type == type, $"{_table.Name}.{_table.Columns[_next].Name} is {_table.Columns[_next].Type}, bound as {type}");
        return 3 + _next++;
    }
}
