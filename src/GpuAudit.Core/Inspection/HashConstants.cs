using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Globalization;

namespace GpuAudit.Core.Inspection;

/// <summary>One hash algorithm recognised by its constants, and how ("round-constant table").</summary>
public sealed record HashConstantHit(string Algorithm, string Evidence);

/// <summary>
/// Recognises hash algorithms by their constants inside GPU code: as tables (constant banks hold
/// them as data), as 32-bit immediates in SASS instructions, or as numbers in PTX text. Only ever
/// applied to GPU code images: CPU libraries such as libcrypto hold the same constants.
/// </summary>
public static class HashConstants
{
    public const string Sha256 = "sha256";
    public const string Keccak = "keccak";
    public const string Blake2b = "blake2b";
    public const string Fnv = "fnv-ethash";

    public const uint FnvPrime = 0x01000193;

    private const int MinSha256Immediates = 8;
    private const int MinBlake2bImmediates = 4;
    private const int MinPtxSha256Constants = 4;
    private const int MinPtxKeccakConstants = 4;

    public static readonly uint[] Sha256K =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    public static readonly uint[] Sha256Iv = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

    public static readonly ulong[] KeccakRoundConstants =
    [
        0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000, 0x000000000000808b, 0x0000000080000001,
        0x8000000080008081, 0x8000000000008009, 0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
        0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003, 0x8000000000008002, 0x8000000000000080,
        0x000000000000800a, 0x800000008000000a, 0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
    ];

    public static readonly ulong[] Blake2bIv =
    [
        0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
        0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
    ];

    private static readonly byte[] Sha256KTable = LittleEndian32(Sha256K.AsSpan(0, 4));
    private static readonly byte[] Sha256IvTable = LittleEndian32(Sha256Iv.AsSpan(0, 2));
    private static readonly byte[] KeccakTable = LittleEndian64(KeccakRoundConstants.AsSpan(1, 2));
    private static readonly byte[] Blake2bTable = LittleEndian64(Blake2bIv.AsSpan(0, 2));

    // Only the round constants count as immediates: the IV words are also the upper halves of
    // Blake2b's IV (a Blake2b table would count as SHA-256), and 0xbb67ae85 is Philox's second
    // Weyl constant, in every dropout kernel.
    private static readonly FrozenDictionary<uint, int> Sha256Words = Index(Sha256K);
    private static readonly FrozenDictionary<uint, int> Blake2bLowHalves = Index(Blake2bIv.Select(v => (uint)v));
    private static readonly ulong[] Sha256Filter = HighHalfFilter(Sha256Words.Keys);
    private static readonly ulong[] Blake2bFilter = HighHalfFilter(Blake2bLowHalves.Keys);

    // PTX prints constants as decimal or hex numbers, 64-bit ones sometimes signed.
    private static readonly FrozenDictionary<ulong, string> PtxConstants = BuildPtxConstants();

    /// <summary>Hash constants in a binary GPU code image (a cubin or a fatbin's payload).</summary>
    public static IReadOnlyList<HashConstantHit> FindInBinary(ReadOnlySpan<byte> image)
    {
        var hits = new List<HashConstantHit>();
        if (image.IndexOf(Sha256KTable) >= 0)
        {
            hits.Add(new(Sha256, "SHA-256 round-constant table"));
        }
        else if (image.IndexOf(Sha256IvTable) >= 0)
        {
            hits.Add(new(Sha256, "SHA-256 initial hash values"));
        }
        else if (CountDistinctWords(image, Sha256Words) is var sha and >= MinSha256Immediates)
        {
            hits.Add(new(Sha256, sha.ToString(CultureInfo.InvariantCulture) + " SHA-256 constants as 32-bit immediates"));
        }

        if (image.IndexOf(KeccakTable) >= 0)
        {
            hits.Add(new(Keccak, "Keccak round-constant table"));
        }

        if (image.IndexOf(Blake2bTable) >= 0)
        {
            hits.Add(new(Blake2b, "Blake2b initialisation vector"));
        }
        else if (CountDistinctWords(image, Blake2bLowHalves) is var blake and >= MinBlake2bImmediates)
        {
            hits.Add(new(Blake2b, blake.ToString(CultureInfo.InvariantCulture) + " Blake2b IV words as immediates"));
        }

        Span<byte> fnv = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(fnv, FnvPrime);
        if (image.IndexOf(fnv) >= 0)
        {
            hits.Add(new(Fnv, "FNV prime 0x01000193 (Ethash mixing)"));
        }

        return hits;
    }

    /// <summary>
    /// Hash constants in PTX text: written as numbers in instructions, or as the contents of
    /// initialised arrays (NVVM prints a <c>__constant__</c> table as <c>.const .b8 NAME[256] = {152, 47, ...}</c>,
    /// byte by byte), which are decoded to their bytes and searched like a binary image.
    /// </summary>
    public static IReadOnlyList<HashConstantHit> FindInPtx(ReadOnlySpan<byte> ptx)
    {
        var hits = FindPtxNumbers(ptx);
        foreach (var hit in PtxInitializers.FindTables(ptx))
        {
            if (!hits.Exists(h => h.Algorithm == hit.Algorithm))
            {
                hits.Add(hit);
            }
        }

        return hits;
    }

    private static List<HashConstantHit> FindPtxNumbers(ReadOnlySpan<byte> ptx)
    {
        var found = new Dictionary<string, HashSet<ulong>>(StringComparer.Ordinal);
        var at = 0;
        while (at < ptx.Length)
        {
            var digit = ptx[at..].IndexOfAnyInRange((byte)'0', (byte)'9');
            if (digit < 0)
            {
                break;
            }

            var start = at + digit;
            var end = start;
            while (end < ptx.Length && end - start < 24 && IsNumberByte(ptx[end]))
            {
                end++;
            }

            var precededByIdentifier = start > 0 && IsNumberByte(ptx[start - 1]) && ptx[start - 1] is not ((byte)'-' or (byte)' ');
            var negative = start > 0 && ptx[start - 1] == (byte)'-';
            if (!precededByIdentifier && TryParseNumber(ptx[start..end], negative, out var value) && PtxConstants.TryGetValue(value, out var algorithm))
            {
                if (!found.TryGetValue(algorithm, out var set))
                {
                    found[algorithm] = set = [];
                }

                set.Add(value);
            }

            at = Math.Max(end, start + 1);
        }

        var hits = new List<HashConstantHit>();
        AddIfAtLeast(found, Sha256, MinPtxSha256Constants, "SHA-256 constants in PTX", hits);
        AddIfAtLeast(found, Keccak, MinPtxKeccakConstants, "Keccak round constants in PTX", hits);
        AddIfAtLeast(found, Blake2b, 2, "Blake2b IV words in PTX", hits);
        AddIfAtLeast(found, Fnv, 1, "FNV prime 16777619 in PTX (Ethash mixing)", hits);
        return hits;
    }

    private static void AddIfAtLeast(Dictionary<string, HashSet<ulong>> found, string algorithm, int minimum, string evidence, List<HashConstantHit> hits)
    {
        if (found.TryGetValue(algorithm, out var set) && set.Count >= minimum)
        {
            hits.Add(new(algorithm, set.Count.ToString(CultureInfo.InvariantCulture) + " " + evidence));
        }
    }

    internal static bool TryParseNumber(ReadOnlySpan<byte> token, bool negative, out ulong value)
    {
        value = 0;
        if (token.Length > 2 && token[0] == (byte)'0' && (token[1] | 0x20) == (byte)'x')
        {
            return ulong.TryParse(token[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        if (!ulong.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            return false;
        }

        if (negative)
        {
            value = unchecked(0UL - value);
        }

        return true;
    }

    // Identifier-like bytes that make up numbers (hex digits, the x of 0x, a leading minus).
    private static bool IsNumberByte(byte b) =>
        b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or (byte)'_';

    // Scans every 4-byte-aligned word once. A 64 Kibit filter on the upper 16 bits rejects almost
    // every word with one bit test, so the dictionary is only consulted for the rare candidates.
    private static int CountDistinctWords(ReadOnlySpan<byte> image, FrozenDictionary<uint, int> words)
    {
        var filter = words == Sha256Words ? Sha256Filter : Blake2bFilter;
        ulong seenLow = 0;
        ulong seenHigh = 0;
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(image[..(image.Length & ~3)]);
        foreach (var raw in values)
        {
            var word = BitConverter.IsLittleEndian ? raw : BinaryPrimitives.ReverseEndianness(raw);
            var high = word >> 16;
            if ((filter[(int)(high >> 6)] & (1UL << (int)(high & 63))) != 0 && words.TryGetValue(word, out var index))
            {
                if (index < 64)
                {
                    seenLow |= 1UL << index;
                }
                else
                {
                    seenHigh |= 1UL << (index - 64);
                }
            }
        }

        return System.Numerics.BitOperations.PopCount(seenLow) + System.Numerics.BitOperations.PopCount(seenHigh);
    }

    private static ulong[] HighHalfFilter(IEnumerable<uint> values)
    {
        var filter = new ulong[1024];
        foreach (var value in values)
        {
            var high = value >> 16;
            filter[high >> 6] |= 1UL << (int)(high & 63);
        }

        return filter;
    }

    private static FrozenDictionary<uint, int> Index(IEnumerable<uint> values)
    {
        var index = new Dictionary<uint, int>();
        foreach (var value in values)
        {
            index.TryAdd(value, index.Count);
        }

        return index.ToFrozenDictionary();
    }

    private static FrozenDictionary<ulong, string> BuildPtxConstants()
    {
        var map = new Dictionary<ulong, string>();
        foreach (var k in Sha256K.Concat(Sha256Iv))
        {
            map[k] = Sha256;
            map[(ulong)(long)(int)k] = Sha256; // as a signed 32-bit immediate widened to 64 bits
        }

        // Small round constants (1, 0x8a, 0x808b...) are everywhere in code: only the wide ones count.
        foreach (var rc in KeccakRoundConstants.Where(rc => rc > 0xFFFFFFFF))
        {
            map[rc] = Keccak;
        }

        foreach (var iv in Blake2bIv)
        {
            map.TryAdd(iv, Blake2b);
        }

        map[FnvPrime] = Fnv;
        return map.ToFrozenDictionary();
    }

    private static byte[] LittleEndian32(ReadOnlySpan<uint> words)
    {
        var bytes = new byte[words.Length * 4];
        for (var i = 0; i < words.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), words[i]);
        }

        return bytes;
    }

    private static byte[] LittleEndian64(ReadOnlySpan<ulong> words)
    {
        var bytes = new byte[words.Length * 8];
        for (var i = 0; i < words.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), words[i]);
        }

        return bytes;
    }
}
