using System.Buffers.Binary;

namespace GpuAudit.Core.Inspection;

/// <summary>One entry of a fatbin container: a cubin (ELF) or PTX text for one architecture.</summary>
public readonly record struct FatbinEntry(FatbinEntryKind Kind, bool Compressed, int PayloadOffset, int PayloadLength);

public enum FatbinEntryKind
{
    Other,
    Ptx,
    Elf,
}

/// <summary>
/// The fatbin container nvcc embeds in host binaries and the driver copies into memory (magic
/// 0xBA55ED50): a 16-byte header (magic, version, header size, payload size) followed by entries,
/// each with its own header (kind, header size, payload size, flags). Compressed entries are listed
/// but not unpacked (their contents cannot be searched without a decompressor).
/// </summary>
public static class FatbinContainer
{
    public const uint MagicValue = 0xBA55ED50;
    public const int HeaderSize = 16;
    private const int MaxEntries = 4096;
    private const ulong CompressedFlag = 0x2000;

    public static ReadOnlySpan<byte> Magic => [0x50, 0xED, 0x55, 0xBA];

    /// <summary>Total bytes the container at the start of <paramref name="bytes"/> claims (header + payload), or null.</summary>
    public static long? ReadLength(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != MagicValue)
        {
            return null;
        }

        var headerSize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[6..]);
        var payload = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        if (headerSize < HeaderSize || payload > (ulong)CudaElfImage.MaxImageBytes)
        {
            return null;
        }

        return headerSize + (long)payload;
    }

    /// <summary>The entries of the container at the start of <paramref name="bytes"/> that fit inside it.</summary>
    public static IReadOnlyList<FatbinEntry> Parse(ReadOnlySpan<byte> bytes)
    {
        var entries = new List<FatbinEntry>();
        if (ReadLength(bytes) is not { } claimed)
        {
            return entries;
        }

        var end = (int)Math.Min(claimed, bytes.Length);
        long at = BinaryPrimitives.ReadUInt16LittleEndian(bytes[6..]);
        const int EntryHeaderMinimum = 64;
        while (at + EntryHeaderMinimum <= end && entries.Count < MaxEntries)
        {
            var header = bytes.Slice((int)at, EntryHeaderMinimum);
            var kind = BinaryPrimitives.ReadUInt16LittleEndian(header);
            var entryHeaderSize = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            var payloadSize = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
            var flags = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
            if (entryHeaderSize < EntryHeaderMinimum || entryHeaderSize > end - at || payloadSize > (ulong)(end - at - entryHeaderSize))
            {
                break;
            }

            var entryKind = kind switch
            {
                1 => FatbinEntryKind.Ptx,
                2 => FatbinEntryKind.Elf,
                _ => FatbinEntryKind.Other,
            };
            entries.Add(new FatbinEntry(entryKind, (flags & CompressedFlag) != 0, (int)(at + entryHeaderSize), (int)payloadSize));

            // Each step moves forward by at least the 64-byte entry header: the loop is bounded.
            at += entryHeaderSize + (long)payloadSize;
        }

        return entries;
    }
}
