using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// The hash of one chained row: SHA-256 over the previous row's hash, the table name, the row's
/// seq and its columns (each a type tag and the value: 8 bytes little-endian for integers and
/// IEEE doubles, a length and UTF-8 for text, a lone tag for null), cut to 16 bytes. 128 bits
/// leave no room to forge a row with the same hash; the first row's previous hash is all zeros.
/// </summary>
internal sealed class RowHash
{
    public const int Size = 16;

    private readonly ArrayBufferWriter<byte> _buffer = new(512);

    public static byte[] Genesis { get; } = new byte[Size];

    public void Begin(ChainedTable table, long seq, ReadOnlySpan<byte> prev)
    {
        _buffer.ResetWrittenCount();
        _buffer.Write(prev);
        Text(table.Name);
        Integer(seq);
    }

    public void Integer(long? value) => Fixed(ColumnType.Integer, value);

    public void Real(double? value) => Fixed(ColumnType.Real, value is { } v ? BitConverter.DoubleToInt64Bits(v) : null);

    public void Text(string? value)
    {
        if (value is null)
        {
            Null();
            return;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        var span = _buffer.GetSpan(5 + length);
        span[0] = (byte)ColumnType.Text;
        BinaryPrimitives.WriteInt32LittleEndian(span[1..], length);
        Encoding.UTF8.GetBytes(value, span[5..]);
        _buffer.Advance(5 + length);
    }

    public byte[] Finish()
    {
        Span<byte> full = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(_buffer.WrittenSpan, full);
        return full[..Size].ToArray();
    }

    private void Null()
    {
        _buffer.GetSpan(1)[0] = 0;
        _buffer.Advance(1);
    }

    /// <summary>A type tag and 8 bytes little-endian (the integer, or the IEEE bits of a double); a lone null tag for null.</summary>
    private void Fixed(ColumnType type, long? value)
    {
        if (value is not { } bits)
        {
            Null();
            return;
        }

        var span = _buffer.GetSpan(9);
        span[0] = (byte)type;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], bits);
        _buffer.Advance(9);
    }
}
