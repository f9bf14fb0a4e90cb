using System.Text;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// PTX, the textual GPU assembly that NVRTC produces and the driver JIT-compiles. A module starts
/// with its <c>.version</c> directive (comments may precede it); data such as <c>__constant__</c>
/// tables comes next, as initialised arrays; kernel names come from <c>.entry NAME</c> directives;
/// the text runs until a NUL byte (NVRTC's and the driver's buffers are NUL-terminated).
/// </summary>
public static class PtxText
{
    /// <summary>How far a module's text is followed looking for its NUL: real modules are far smaller.</summary>
    public const int MaxBodyBytes = 4 << 20;
    private const int MaxNameBytes = 512;

    public static ReadOnlySpan<byte> EntryDirective => ".entry"u8;

    /// <summary>The first directive of every PTX module: where a module found in memory starts.</summary>
    public static ReadOnlySpan<byte> VersionDirective => ".version"u8;

    /// <summary>Every kernel name declared in <paramref name="text"/>.</summary>
    public static IReadOnlyList<string> EntryNames(ReadOnlySpan<byte> text)
    {
        var names = new List<string>();
        var at = 0;
        while (at < text.Length)
        {
            var found = text[at..].IndexOf(EntryDirective);
            if (found < 0)
            {
                break;
            }

            var after = at + found + EntryDirective.Length;
            if (EntryNameAt(text, after) is { } name)
            {
                names.Add(name);
            }

            at = after;
        }

        return names;
    }

    /// <summary>
    /// The identifier after an <c>.entry</c> directive that ends at <paramref name="afterDirective"/>
    /// (whitespace first), or null when what follows is not an identifier.
    /// </summary>
    public static string? EntryNameAt(ReadOnlySpan<byte> text, int afterDirective)
    {
        var at = afterDirective;
        var skipped = 0;
        while (at < text.Length && skipped < 64 && text[at] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            at++;
            skipped++;
        }

        if (skipped == 0)
        {
            return null;
        }

        var start = at;
        while (at < text.Length && at - start < MaxNameBytes && IsIdentifierByte(text[at]))
        {
            at++;
        }

        return at > start ? Encoding.ASCII.GetString(text[start..at]) : null;
    }

    /// <summary>The text from <paramref name="start"/> to the next NUL, at most <see cref="MaxBodyBytes"/>.</summary>
    public static ReadOnlySpan<byte> BodyFrom(ReadOnlySpan<byte> text, int start)
    {
        var rest = text[start..];
        rest = rest[..Math.Min(rest.Length, MaxBodyBytes)];
        var end = rest.IndexOf((byte)0);
        return end < 0 ? rest : rest[..end];
    }

    private static bool IsIdentifierByte(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'_' or (byte)'$';
}
