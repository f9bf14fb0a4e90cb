using System.Buffers.Binary;
using System.Text;
using K4os.Compression.LZ4;

namespace GpuAudit.Tests.Inspection;

/// <summary>
/// Builds small but well-formed GPU code images for tests: an ELF64 with a chosen e_machine, a
/// symbol table naming kernels and a .text section carrying given bytes; a fatbin wrapping
/// entries; PTX text. Shared by the Core and Linux test projects.
/// </summary>
internal static class TestImages
{
    public const ushort MachineX86_64 = 62;

    /// <summary>The first sixteen SHA-256 round constants as a little-endian table.</summary>
    public static byte[] Sha256Table()
    {
        var bytes = new byte[16 * 4];
        for (var i = 0; i < 16; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), HashConstants.Sha256K[i]);
        }

        return bytes;
    }

    /// <summary>An ELF64 LE image: sections null, .text, .symtab, .strtab, .shstrtab; one FUNC symbol per kernel.</summary>
    public static byte[] Elf(ushort machine, IReadOnlyList<string> kernels, byte[] text)
    {
        var strtab = new List<byte> { 0 };
        var nameOffsets = new List<int>();
        foreach (var kernel in kernels)
        {
            nameOffsets.Add(strtab.Count);
            strtab.AddRange(Encoding.ASCII.GetBytes(kernel));
            strtab.Add(0);
        }

        var shstrtab = Encoding.ASCII.GetBytes("\0.text\0.symtab\0.strtab\0.shstrtab\0");
        var symtab = new byte[24 * (kernels.Count + 1)];
        for (var i = 0; i < kernels.Count; i++)
        {
            var entry = symtab.AsSpan(24 * (i + 1));
            BinaryPrimitives.WriteUInt32LittleEndian(entry, (uint)nameOffsets[i]);
            entry[4] = 0x12; // STB_GLOBAL | STT_FUNC
            BinaryPrimitives.WriteUInt16LittleEndian(entry[6..], 1); // defined in .text
            BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], (ulong)text.Length);
        }

        var textOffset = 64;
        var symOffset = Align(textOffset + text.Length);
        var strOffset = symOffset + symtab.Length;
        var shstrOffset = strOffset + strtab.Count;
        var shoff = Align(shstrOffset + shstrtab.Length);
        const int SectionCount = 5;
        var image = new byte[shoff + (SectionCount * 64)];
        image[0] = 0x7F;
        image[1] = (byte)'E';
        image[2] = (byte)'L';
        image[3] = (byte)'F';
        image[4] = 2; // ELFCLASS64
        image[5] = 1; // little-endian
        image[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(16), 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(18), machine);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(40), (ulong)shoff);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(52), 64); // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(58), 64); // e_shentsize
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(60), SectionCount);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(62), 4); // e_shstrndx

        text.CopyTo(image, textOffset);
        symtab.CopyTo(image, symOffset);
        strtab.ToArray().CopyTo(image, strOffset);
        shstrtab.CopyTo(image, shstrOffset);

        Section(image, shoff, 1, name: 1, type: 1, offset: textOffset, size: text.Length, link: 0, entsize: 0);
        Section(image, shoff, 2, name: 7, type: 2, offset: symOffset, size: symtab.Length, link: 3, entsize: 24);
        Section(image, shoff, 3, name: 15, type: 3, offset: strOffset, size: strtab.Count, link: 0, entsize: 0);
        Section(image, shoff, 4, name: 23, type: 3, offset: shstrOffset, size: shstrtab.Length, link: 0, entsize: 0);
        return image;
    }

    /// <summary>
    /// A fatbin container holding the given entries (kind 1 = PTX, 2 = ELF) in the layout
    /// <c>fatbinary</c> 11.8 writes; a compressed entry's payload is an LZ4 block of the given bytes.
    /// </summary>
    public static byte[] Fatbin(params (ushort Kind, byte[] Payload, bool Compressed)[] entries)
    {
        var body = new List<byte>();
        foreach (var (kind, payload, compressed) in entries)
        {
            var data = payload;
            if (compressed)
            {
                var encoded = new byte[LZ4Codec.MaximumOutputSize(payload.Length)];
                data = encoded.AsSpan(0, LZ4Codec.Encode(payload, encoded)).ToArray();
            }

            var padded = (data.Length + 7) & ~7;
            var header = new byte[64];
            BinaryPrimitives.WriteUInt16LittleEndian(header, kind);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(2), 0x0101);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 64);
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), (ulong)padded);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x1C), 90);
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(0x28), 0x11 | (compressed ? FatbinContainer.CompressedFlag : 0));
            if (compressed)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(0x10), (uint)data.Length);
                BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(0x38), (ulong)payload.Length);
            }

            body.AddRange(header);
            body.AddRange(data);
            body.AddRange(new byte[padded - data.Length]);
        }

        var container = new byte[16 + body.Count];
        BinaryPrimitives.WriteUInt32LittleEndian(container, FatbinContainer.MagicValue);
        BinaryPrimitives.WriteUInt16LittleEndian(container.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(container.AsSpan(6), 16);
        BinaryPrimitives.WriteUInt64LittleEndian(container.AsSpan(8), (ulong)body.Count);
        body.ToArray().CopyTo(container, 16);
        return container;
    }

    /// <summary>PTX text declaring one kernel whose body moves the given 32-bit constants, NUL-terminated.</summary>
    public static byte[] Ptx(string kernel, IEnumerable<uint> constants)
    {
        var text = new StringBuilder(".version 8.5\n.target sm_90\n.address_size 64\n\n.visible .entry ");
        text.Append(kernel).Append("(\n\t.param .u64 p0\n)\n{\n");
        var register = 0;
        foreach (var constant in constants)
        {
            text.Append("\tmov.u32 \t%r").Append(register++).Append(", ").Append(constant).Append(";\n");
        }

        text.Append("\tret;\n}\n\0");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static int Align(int value) => (value + 7) & ~7;

    private static void Section(byte[] image, int shoff, int index, int name, uint type, int offset, int size, uint link, int entsize)
    {
        var header = image.AsSpan(shoff + (index * 64), 64);
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)name);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], type);
        BinaryPrimitives.WriteUInt64LittleEndian(header[24..], (ulong)offset);
        BinaryPrimitives.WriteUInt64LittleEndian(header[32..], (ulong)size);
        BinaryPrimitives.WriteUInt32LittleEndian(header[40..], link);
        BinaryPrimitives.WriteUInt64LittleEndian(header[56..], (ulong)entsize);
    }
}
