using System.Buffers.Binary;
using System.Globalization;
using System.Net;

namespace GpuAudit.Core.Inspection;

/// <summary>One row of /proc/PID/net/tcp or tcp6.</summary>
public sealed record TcpSocket(IPEndPoint Local, IPEndPoint Remote, TcpSocketState State, ulong Inode, int Uid)
{
    /// <summary>Parses the table text; the header line and malformed rows are skipped.</summary>
    public static IReadOnlyList<TcpSocket> ParseTable(string text) =>
        ProcfsText.ParseLines(text, TryParseRow);

    // "  1: 0100007F:0D05 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000  1000 0 12345 ..."
    public static TcpSocket? TryParseRow(ReadOnlySpan<char> line)
    {
        Span<Range> fields = stackalloc Range[11];
        var count = line.Split(fields, ' ', StringSplitOptions.RemoveEmptyEntries);
        if (count < 10
            || ParseEndPoint(line[fields[1]]) is not { } local
            || ParseEndPoint(line[fields[2]]) is not { } remote
            || !byte.TryParse(line[fields[3]], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var state)
            || !int.TryParse(line[fields[7]], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
            || !ulong.TryParse(line[fields[9]], NumberStyles.None, CultureInfo.InvariantCulture, out var inode))
        {
            return null;
        }

        return new TcpSocket(local, remote, (TcpSocketState)state, inode, uid);
    }

    // The kernel prints each 32-bit word of the address in host (little-endian) order.
    private static IPEndPoint? ParseEndPoint(ReadOnlySpan<char> text)
    {
        var colon = text.IndexOf(':');
        if (colon < 0 || !ushort.TryParse(text[(colon + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var port))
        {
            return null;
        }

        var hex = text[..colon];
        if (hex.Length is not (8 or 32))
        {
            return null;
        }

        Span<byte> address = stackalloc byte[hex.Length / 2];
        for (var word = 0; word < hex.Length / 8; word++)
        {
            if (!uint.TryParse(hex.Slice(word * 8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
            {
                return null;
            }

            BinaryPrimitives.WriteUInt32LittleEndian(address[(word * 4)..], value);
        }

        var ip = new IPAddress(address);
        return new IPEndPoint(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip, port);
    }
}

/// <summary>TCP states as /proc/net/tcp numbers them.</summary>
public enum TcpSocketState : byte
{
    Established = 0x01,
    SynSent = 0x02,
    SynReceived = 0x03,
    FinWait1 = 0x04,
    FinWait2 = 0x05,
    TimeWait = 0x06,
    Close = 0x07,
    CloseWait = 0x08,
    LastAck = 0x09,
    Listen = 0x0A,
    Closing = 0x0B,
}
