using System.Buffers.Binary;
using K4os.Compression.LZ4;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// One entry of a fatbin container: a cubin (ELF) or PTX text for one architecture, possibly
/// compressed. Offsets are relative to the container's start.
/// </summary>
public readonly record struct FatbinEntry(
    FatbinEntryKind Kind,
    int PayloadOffset,
    int PayloadLength,
    bool Compressed,
    int CompressedLength,
    long UncompressedLength,
    uint Architecture);

public enum FatbinEntryKind
{
    Other,
    Ptx,
    Elf,
}

/// <summary>
/// The fatbin container nvcc embeds in host binaries and hands to the driver (magic 0xBA55ED50).
/// Layout as <c>fatbinary</c> 11.8 writes it (read off its output in the scanner's tests, which
/// build fatbins with it from NVRTC output):
/// <code>
/// container: u32 magic, u16 version (1), u16 header size (16), u64 size of all entries
/// entry:     +0x00 u16 kind (1 PTX, 2 ELF)   +0x02 u16 version (0x0101)  +0x04 u32 entry header size (64 ELF, 72 PTX)
///            +0x08 u64 payload size, padded to 8 (the next entry follows it)
///            +0x10 u32 compressed size (0 unless compressed)        +0x18 u16 minor, u16 major (PTX ISA / ELF ABI)
///            +0x1C u32 SM architecture (90 = sm_90)                 +0x28 u64 flags (0x1 64-bit, 0x10 Linux host, 0x2000 compressed)
///            +0x38 u64 uncompressed size (0 unless compressed)
/// </code>
/// A compressed payload is one raw LZ4 block (no frame) of <c>compressed size</c> bytes that
/// decodes to <c>uncompressed size</c> bytes. <c>fatbinary</c> compresses PTX by default and
/// cubins too with <c>--compress-all</c> (nvcc <c>-Xfatbin -compress-all</c>).
/// </summary>
public static class FatbinContainer
{
    public const uint MagicValue = 0xBA55ED50;
    public const int HeaderSize = 16;
    public const int EntryHeaderMinimum = 64;
    public const ulong CompressedFlag = 0x2000;
    private const int MaxEntries = 4096;

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
        while (at + EntryHeaderMinimum <= end && entries.Count < MaxEntries)
        {
            var header = bytes.Slice((int)at, EntryHeaderMinimum);
            var kind = BinaryPrimitives.ReadUInt16LittleEndian(header);
            var entryHeaderSize = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            var payloadSize = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
            if (entryHeaderSize < EntryHeaderMinimum || entryHeaderSize > end - at || payloadSize > (ulong)(end - at - entryHeaderSize))
            {
                break;
            }

            var flags = BinaryPrimitives.ReadUInt64LittleEndian(header[0x28..]);
            var compressedLength = BinaryPrimitives.ReadUInt32LittleEndian(header[0x10..]);
            var uncompressed = BinaryPrimitives.ReadUInt64LittleEndian(header[0x38..]);
            var entryKind = kind switch
            {
                1 => FatbinEntryKind.Ptx,
                2 => FatbinEntryKind.Elf,
                _ => FatbinEntryKind.Other,
            };
            entries.Add(new FatbinEntry(
                entryKind,
                (int)(at + entryHeaderSize),
                (int)payloadSize,
                (flags & CompressedFlag) != 0,
                (int)Math.Min(compressedLength, payloadSize),
                (long)Math.Min(uncompressed, (ulong)CudaElfImage.MaxImageBytes),
                BinaryPrimitives.ReadUInt32LittleEndian(header[0x1C..])));

            // Each step moves forward by at least the 64-byte entry header: the loop is bounded.
            at += entryHeaderSize + (long)payloadSize;
        }

        return entries;
    }

    /// <summary>
    /// Decodes a compressed entry's payload (<paramref name="payload"/>, as <see cref="FatbinEntry.PayloadLength"/>
    /// bytes) into <paramref name="into"/>. Returns the decoded bytes, or -1 when the entry does
    /// not fit <paramref name="into"/> or is not a well-formed LZ4 block of the size it claims
    /// (another codec, or crafted bytes): the decoder checks every offset and never writes past its target.
    /// </summary>
    public static int Decompress(FatbinEntry entry, ReadOnlySpan<byte> payload, Span<byte> into)
    {
        if (!entry.Compressed || entry.UncompressedLength <= 0 || entry.UncompressedLength > into.Length
            || entry.CompressedLength <= 0 || entry.CompressedLength > payload.Length)
        {
            return -1;
        }

        var target = into[..(int)entry.UncompressedLength];
        var decoded = LZ4Codec.Decode(payload[..entry.CompressedLength], target);
        return decoded == target.Length ? decoded : -1;
    }
}
