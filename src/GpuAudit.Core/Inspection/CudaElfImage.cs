using System.Buffers.Binary;
using System.Text;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// A parsed ELF64 little-endian image: its machine, its extent (so a scanner knows how many bytes
/// belong to it) and, for CUDA images (e_machine 190, "cubins"), the kernel names from the symbol
/// table. Every offset and count comes from untrusted memory: each is checked against the span and
/// capped, so a hostile header can neither crash nor stall the parser.
/// </summary>
public sealed record CudaElfImage(ushort Machine, long Length, IReadOnlyList<string> Kernels)
{
    public const ushort MachineCuda = 190;
    public const int HeaderSize = 64;

    // Bounds that no real cubin comes near; they keep hostile headers cheap.
    public const long MaxImageBytes = 256L << 20;
    private const int MaxSections = 8192;
    private const int MaxSymbols = 200_000;
    private const int MaxKernels = 4096;
    private const int MaxNameBytes = 1024;

    public static ReadOnlySpan<byte> Magic => [0x7F, (byte)'E', (byte)'L', (byte)'F'];

    public bool IsCuda => Machine == MachineCuda;

    /// <summary>
    /// Reads the ELF header at the start of <paramref name="bytes"/> and says how long the image
    /// claims to be (section table end, program table end), or null when it is no ELF64 LE header.
    /// </summary>
    public static (ushort Machine, long Length)? ReadHeader(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderSize || !bytes.StartsWith(Magic) || bytes[4] != 2 || bytes[5] != 1)
        {
            return null;
        }

        var machine = BinaryPrimitives.ReadUInt16LittleEndian(bytes[18..]);
        var phoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes[32..]);
        var shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes[40..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[54..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(bytes[56..]);
        var shentsize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[58..]);
        var shnum = BinaryPrimitives.ReadUInt16LittleEndian(bytes[60..]);
        if (phoff > MaxImageBytes || shoff > MaxImageBytes)
        {
            return null;
        }

        var length = Math.Max(HeaderSize, Math.Max((long)phoff + (phentsize * phnum), (long)shoff + (shentsize * shnum)));
        return length > MaxImageBytes ? null : (machine, length);
    }

    /// <summary>Parses an image whose header starts <paramref name="bytes"/>; null when it is not ELF64 LE.</summary>
    public static CudaElfImage? TryParse(ReadOnlySpan<byte> bytes)
    {
        if (ReadHeader(bytes) is not { } header)
        {
            return null;
        }

        var shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes[40..]);
        var shentsize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[58..]);
        var shnum = Math.Min((int)BinaryPrimitives.ReadUInt16LittleEndian(bytes[60..]), MaxSections);
        var length = header.Length;
        var kernels = new List<string>();
        if (shentsize >= 64 && shoff + ((long)shentsize * shnum) <= bytes.Length)
        {
            // Sections' data may lie beyond the section table: the image ends where the last one does.
            for (var i = 0; i < shnum; i++)
            {
                var section = Section.Read(bytes, shoff + ((long)i * shentsize));
                if (section.Type != Section.NoBits && section.Offset + section.Size <= MaxImageBytes)
                {
                    length = Math.Max(length, section.Offset + section.Size);
                }
            }

            if (header.Machine == MachineCuda)
            {
                ReadKernels(bytes, shoff, shentsize, shnum, kernels);
            }
        }

        return new CudaElfImage(header.Machine, length, kernels);
    }

    private static void ReadKernels(ReadOnlySpan<byte> bytes, long shoff, int shentsize, int shnum, List<string> kernels)
    {
        for (var i = 0; i < shnum && kernels.Count < MaxKernels; i++)
        {
            var symtab = Section.Read(bytes, shoff + ((long)i * shentsize));
            if (symtab.Type != Section.SymTab || symtab.EntrySize < 24 || symtab.Link >= shnum)
            {
                continue;
            }

            var strtab = Section.Read(bytes, shoff + ((long)symtab.Link * shentsize));
            if (!symtab.Within(bytes.Length) || !strtab.Within(bytes.Length))
            {
                continue;
            }

            var names = bytes.Slice((int)strtab.Offset, (int)strtab.Size);
            var count = Math.Min(symtab.Size / symtab.EntrySize, MaxSymbols);
            for (long s = 0; s < count && kernels.Count < MaxKernels; s++)
            {
                var entry = bytes.Slice((int)(symtab.Offset + (s * symtab.EntrySize)), 24);
                var nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(entry);
                var type = entry[4] & 0xF;
                var sectionIndex = BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]);
                const int FunctionSymbol = 2;
                if (type == FunctionSymbol && sectionIndex != 0 && nameOffset < names.Length && ReadName(names[(int)nameOffset..]) is { Length: > 0 } name)
                {
                    kernels.Add(name);
                }
            }
        }
    }

    private static string ReadName(ReadOnlySpan<byte> from)
    {
        var limited = from[..Math.Min(from.Length, MaxNameBytes)];
        var end = limited.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? limited : limited[..end]);
    }

    private readonly record struct Section(uint Type, long Offset, long Size, uint Link, long EntrySize)
    {
        public const uint SymTab = 2;
        public const uint NoBits = 8;

        public static Section Read(ReadOnlySpan<byte> bytes, long at)
        {
            var header = bytes.Slice((int)at, 64);
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(header[24..]);
            var size = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
            return new Section(
                BinaryPrimitives.ReadUInt32LittleEndian(header[4..]),
                offset > MaxImageBytes ? MaxImageBytes : (long)offset,
                size > MaxImageBytes ? MaxImageBytes : (long)size,
                BinaryPrimitives.ReadUInt32LittleEndian(header[40..]),
                (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(header[56..]), MaxImageBytes));
        }

        public bool Within(int length) => Offset + Size <= length;
    }
}
