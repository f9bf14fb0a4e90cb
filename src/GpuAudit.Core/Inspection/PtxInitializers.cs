using System.Buffers;
using System.Buffers.Binary;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// Decodes the initialised arrays of a PTX module (<c>.const .align 4 .b8 K[256] = {152, 47, 138, ...}</c>,
/// <c>.global .u32 T[4] = {1, 2, 3, 4}</c>) back to the little-endian bytes the driver loads into
/// the constant bank, so that a constant table is recognised in PTX exactly as in a cubin. One
/// linear pass; the decoded bytes are bounded by the text (at most 8 bytes per number).
/// </summary>
internal static class PtxInitializers
{
    // How far before "= {" the element type (.b8, .u32, ...) is looked for: one declaration line.
    private const int DeclarationLookBack = 256;
    private const int MaxNumberBytes = 24;

    // Constant tables sit at the top of a module; what initialisers hold past this is not decoded.
    private const int MaxDecodedBytes = 1 << 20;

    public static IReadOnlyList<HashConstantHit> FindTables(ReadOnlySpan<byte> ptx)
    {
        var decoded = ArrayPool<byte>.Shared.Rent(Math.Clamp(ptx.Length * 4, 64, MaxDecodedBytes));
        try
        {
            var length = Decode(ptx, decoded);
            return length == 0 ? [] : HashConstants.FindInBinary(decoded.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(decoded);
        }
    }

    /// <summary>Writes the values of every initialised integer array into <paramref name="into"/>; returns the bytes written.</summary>
    public static int Decode(ReadOnlySpan<byte> ptx, Span<byte> into)
    {
        var written = 0;
        var at = 0;
        while (at < ptx.Length)
        {
            var brace = ptx[at..].IndexOf((byte)'{');
            if (brace < 0)
            {
                break;
            }

            var open = at + brace;
            at = open + 1;
            var width = ElementWidth(ptx, open);
            if (width == 0)
            {
                continue;
            }

            // Values up to the matching close brace (nested braces of multi-dimensional arrays are separators).
            var depth = 1;
            while (at < ptx.Length && depth > 0)
            {
                var b = ptx[at];
                if (b == (byte)'{')
                {
                    depth++;
                    at++;
                }
                else if (b == (byte)'}')
                {
                    depth--;
                    at++;
                }
                else if (b is >= (byte)'0' and <= (byte)'9')
                {
                    var end = at;
                    while (end < ptx.Length && end - at < MaxNumberBytes && IsNumberByte(ptx[end]))
                    {
                        end++;
                    }

                    var negative = at > 0 && ptx[at - 1] == (byte)'-';
                    if (written + width <= into.Length && HashConstants.TryParseNumber(ptx[at..end], negative, out var value))
                    {
                        Write(into.Slice(written, width), value);
                        written += width;
                    }

                    at = Math.Max(end, at + 1);
                }
                else if (b is (byte)';' or 0)
                {
                    break;
                }
                else
                {
                    at++;
                }
            }
        }

        return written;
    }

    // The width of the array element declared on the line of "= {" at openBrace: .b8/.u8/.s8 = 1,
    // 16 = 2, 32 = 4, 64 = 8; 0 when this brace opens no integer array initialiser.
    private static int ElementWidth(ReadOnlySpan<byte> ptx, int openBrace)
    {
        var before = openBrace - 1;
        while (before >= 0 && ptx[before] is (byte)' ' or (byte)'\t')
        {
            before--;
        }

        if (before < 0 || ptx[before] != (byte)'=')
        {
            return 0;
        }

        var lineStart = Math.Max(0, before - DeclarationLookBack);
        var declaration = ptx[lineStart..before];
        var newline = declaration.LastIndexOf((byte)'\n');
        if (newline >= 0)
        {
            declaration = declaration[(newline + 1)..];
        }

        for (var i = declaration.Length - 3; i >= 0; i--)
        {
            if (declaration[i] == (byte)'.' && declaration[i + 1] is (byte)'b' or (byte)'u' or (byte)'s')
            {
                var bits = declaration[(i + 2)..];
                var digits = bits.IndexOfAnyExceptInRange((byte)'0', (byte)'9');
                var number = digits < 0 ? bits : bits[..digits];
                switch (number)
                {
                    case [(byte)'8']:
                        return 1;
                    case [(byte)'1', (byte)'6']:
                        return 2;
                    case [(byte)'3', (byte)'2']:
                        return 4;
                    case [(byte)'6', (byte)'4']:
                        return 8;
                }
            }
        }

        return 0;
    }

    private static void Write(Span<byte> into, ulong value)
    {
        switch (into.Length)
        {
            case 1:
                into[0] = (byte)value;
                break;
            case 2:
                BinaryPrimitives.WriteUInt16LittleEndian(into, (ushort)value);
                break;
            case 4:
                BinaryPrimitives.WriteUInt32LittleEndian(into, (uint)value);
                break;
            default:
                BinaryPrimitives.WriteUInt64LittleEndian(into, value);
                break;
        }
    }

    private static bool IsNumberByte(byte b) =>
        b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z';
}
