namespace GpuAudit.Core.Inspection;

/// <summary>What the parsers of line-per-row procfs files (maps, net/tcp) share.</summary>
internal static class ProcfsText
{
    /// <summary>The rows <paramref name="parseLine"/> makes of the lines of <paramref name="text"/>; a line it answers null to (a header, a malformed line) is skipped.</summary>
    public static List<T> ParseLines<T>(string text, Func<ReadOnlySpan<char>, T?> parseLine)
        where T : class
    {
        var rows = new List<T>();
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (parseLine(line) is { } row)
            {
                rows.Add(row);
            }
        }

        return rows;
    }
}
