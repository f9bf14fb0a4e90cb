using System.Globalization;

namespace GpuAudit.Core.Inspection;

/// <summary>One line of /proc/PID/maps: an address range, its permissions and what backs it.</summary>
public sealed record MemoryRegion(ulong Start, ulong End, string Permissions, ulong Offset, string Device, ulong Inode, string? Path)
{
    public ulong Length => End - Start;

    public bool Readable => Permissions.Length > 0 && Permissions[0] == 'r';

    /// <summary>Backed by a file (inode != 0), as opposed to anonymous memory, heap, stack or [vvar].</summary>
    public bool FileBacked => Inode != 0 && Path is { Length: > 0 } && Path[0] == '/';

    /// <summary>Kernel pseudo-regions ([vvar], [vsyscall]...) that cannot or must not be read.</summary>
    public bool Special => Path is "[vvar]" or "[vsyscall]" or "[vvar_vclock]";

    /// <summary>Parses /proc/PID/maps text; malformed lines are skipped.</summary>
    public static IReadOnlyList<MemoryRegion> ParseMaps(string text) =>
        ProcfsText.ParseLines(text, TryParseLine);

    public static MemoryRegion? TryParseLine(ReadOnlySpan<char> line)
    {
        Span<Range> fields = stackalloc Range[6];
        var count = line.Split(fields, ' ', StringSplitOptions.RemoveEmptyEntries);
        if (count < 5)
        {
            return null;
        }

        var range = line[fields[0]];
        var dash = range.IndexOf('-');
        if (dash < 0
            || !ulong.TryParse(range[..dash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
            || !ulong.TryParse(range[(dash + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end)
            || end < start
            || !ulong.TryParse(line[fields[2]], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var offset)
            || !ulong.TryParse(line[fields[4]], NumberStyles.None, CultureInfo.InvariantCulture, out var inode))
        {
            return null;
        }

        // The path is the rest of the line after the inode (it may contain spaces).
        string? path = null;
        if (count == 6)
        {
            path = line[fields[5].Start..].Trim().ToString();
        }

        return new MemoryRegion(start, end, line[fields[1]].ToString(), offset, line[fields[3]].ToString(), inode, path);
    }
}
