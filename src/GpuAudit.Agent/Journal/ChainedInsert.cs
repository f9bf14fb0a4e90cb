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
/// One prepared INSERT into a chained table, re-bound for every row: the SQL is parsed once per
/// connection, not once per row. Each value is bound and hashed in the same call, so the row on
/// disk and its hash cannot disagree. Usage: <see cref="Begin"/>, one value per column in table
/// order, <see cref="Append"/>.
/// </summary>
internal sealed class ChainedInsert : IDisposable
{
    private readonly ChainedTable _table;
    private readonly SqliteCommand _command;
    private readonly SqliteParameter _seq;
    private readonly SqliteParameter _prev;
    private readonly SqliteParameter[] _values;
    private readonly RowHash _hash;
    private int _next;
    private long _rowSeq;

    public ChainedInsert(SqliteConnection connection, ChainedTable table, RowHash hash)
    {
        _table = table;
        _hash = hash;
        _command = connection.CreateCommand();
        _command.CommandText = table.InsertSql;
        _seq = _command.Parameters.Add("$seq", SqliteType.Integer);
        _prev = _command.Parameters.Add("$prev", SqliteType.Blob);
        _values = new SqliteParameter[table.Columns.Count];
        for (var i = 0; i < _values.Length; i++)
        {
            _values[i] = _command.Parameters.Add("$c" + i, table.Columns[i].Type switch
            {
                ColumnType.Integer => SqliteType.Integer,
                ColumnType.Real => SqliteType.Real,
                _ => SqliteType.Text,
            });
        }
    }

    public ChainedInsert Begin(ChainHead head)
    {
        _rowSeq = head.Seq + 1;
        _hash.Begin(_table, _rowSeq, head.Hash);
        _seq.Value = _rowSeq;
        _prev.Value = head.Hash;
        _next = 0;
        return this;
    }

    public ChainedInsert Integer(long? value)
    {
        Next(ColumnType.Integer).Value = value is { } v ? v : DBNull.Value;
        _hash.Integer(value);
        return this;
    }

    public ChainedInsert Real(double? value)
    {
        Next(ColumnType.Real).Value = value is { } v ? v : DBNull.Value;
        _hash.Real(value);
        return this;
    }

    public ChainedInsert Text(string? value)
    {
        Next(ColumnType.Text).Value = value is null ? DBNull.Value : value;
        _hash.Text(value);
        return this;
    }

    /// <summary>Writes the row inside <paramref name="transaction"/> and returns the new head.</summary>
    public ChainHead Append(SqliteTransaction transaction)
    {
        Debug.Assert(_next == _values.Length, $"{_table.Name}: {_next} of {_values.Length} columns bound");
        _command.Transaction = transaction;
        if (_command.ExecuteNonQuery() != 1)
        {
            throw new InvalidOperationException($"journal: insert into {_table.Name} wrote no row");
        }

        return new ChainHead(_rowSeq, _hash.Finish());
    }

    public void Dispose() => _command.Dispose();

    private SqliteParameter Next(ColumnType type)
    {
        Debug.Assert(_table.Columns[_next].Type == type, $"{_table.Name}.{_table.Columns[_next].Name} is {_table.Columns[_next].Type}, bound as {type}");
        return _values[_next++];
    }
}
