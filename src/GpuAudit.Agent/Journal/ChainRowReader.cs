using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// One chained row as stored: its seq, the prev hash it carries, the hash recomputed from its
/// content, and a short description (<see cref="Key"/>: table and leading columns) for messages.
/// </summary>
internal sealed record ChainRow(ChainedTable Table, long Seq, byte[] Prev, byte[] Hash, string Key);

/// <summary>Reads the rows of one chained table after a seq, in chain order, hashing each from its stored values.</summary>
internal sealed class ChainRowReader : IDisposable
{
    private const int KeyColumns = 4;

    private readonly ChainedTable _table;
    private readonly SqliteCommand _command;
    private readonly SqliteDataReader _reader;
    private readonly RowHash _hash = new();

    public ChainRowReader(SqliteConnection connection, ChainedTable table, long afterSeq)
    {
        _table = table;
        _command = connection.CreateCommand();
        _command.CommandText = table.SelectSql;
        _command.Parameters.AddWithValue("$after", afterSeq);
        _reader = _command.ExecuteReader();
    }

    public ChainRow? Read()
    {
        if (!_reader.Read())
        {
            return null;
        }

        var seq = _reader.GetInt64(0);
        var prev = _reader.GetValue(1) as byte[] ?? [];
        _hash.Begin(_table, seq, prev);
        var key = new StringBuilder(_table.Name).Append(" row ").Append(seq.ToString(CultureInfo.InvariantCulture));
        for (var i = 0; i < _table.Columns.Count; i++)
        {
            var ordinal = i + 2;
            var isNull = _reader.IsDBNull(ordinal);
            string? text;
            switch (_table.Columns[i].Type)
            {
                case ColumnType.Integer:
                    long? integer = isNull ? null : _reader.GetInt64(ordinal);
                    _hash.Integer(integer);
                    text = integer?.ToString(CultureInfo.InvariantCulture);
                    break;
                case ColumnType.Real:
                    double? real = isNull ? null : _reader.GetDouble(ordinal);
                    _hash.Real(real);
                    text = real?.ToString("R", CultureInfo.InvariantCulture);
                    break;
                default:
                    text = isNull ? null : _reader.GetString(ordinal);
                    _hash.Text(text);
                    break;
            }

            if (i < KeyColumns)
            {
                key.Append(i == 0 ? " (" : ", ").Append(_table.Columns[i].Name).Append('=').Append(Shorten(text ?? "null")).Append(i == KeyColumns - 1 || i == _table.Columns.Count - 1 ? ")" : "");
            }
        }

        return new ChainRow(_table, seq, prev, _hash.Finish(), key.ToString());
    }

    public void Dispose()
    {
        _reader.Dispose();
        _command.Dispose();
    }

    private static string Shorten(string text) => text.Length <= 48 ? text : text[..45] + "...";
}
