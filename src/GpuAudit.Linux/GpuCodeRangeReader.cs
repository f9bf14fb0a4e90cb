using System.Buffers.Binary;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Linux;

/// <summary>
/// Reads the one GPU code image a process handed the CUDA driver (the kernel ledger sees the
/// address in cuModuleLoadData and friends): a cubin, a fatbin (or the fatbin wrapper that points
/// to one), or PTX text. Reads exactly that image through /proc/PID/mem — its header says how
/// long it is (PTX runs to its NUL) — capped at <see cref="MaxImageBytes"/>.
/// </summary>
public sealed class GpuCodeRangeReader(string procRoot = ProcFileSystem.DefaultRoot)
{
    /// <summary>Images larger than this are read in their first this-many bytes.</summary>
    public const int MaxImageBytes = 64 << 20;

    // __fatBinC_Wrapper_t (what nvcc's host code hands cudart): magic, version, then the fatbin's address.
    private const uint FatbinWrapperMagic = 0x466243b1;

    private readonly ProcFileSystem proc = new(procRoot);

    /// <summary>The image at <paramref name="address"/> in <paramref name="pid"/>, or null when it is unreadable or not GPU code.</summary>
    public GpuCodeImage? Read(int pid, ulong address)
    {
        SafeFileHandleReader memory;
        try
        {
            memory = new SafeFileHandleReader(File.OpenHandle(proc.PidPath(pid, "mem"), FileMode.Open, FileAccess.Read));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        using (memory)
        {
            Span<byte> header = stackalloc byte[GpuCodeSearch.CandidateHeaderBytes];
            if (!ReadHeader(memory, address, header))
            {
                return null;
            }

            if (BinaryPrimitives.ReadUInt32LittleEndian(header) == FatbinWrapperMagic)
            {
                address = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
                if (!ReadHeader(memory, address, header))
                {
                    return null;
                }
            }

            var kind = header.StartsWith(FatbinContainer.Magic) ? GpuCodeKind.Fatbin
                : header.StartsWith(CudaElfImage.Magic) ? GpuCodeKind.Cubin
                : GpuCodeKind.Ptx;
            var claimed = GpuCodeSearch.ClaimedLength(kind, header);
            var length = (int)Math.Clamp(claimed, 0, MaxImageBytes);
            if (length <= 0)
            {
                return null;
            }

            var bytes = new byte[length];
            var read = memory.Read(bytes, (long)address);
            if (read <= 0)
            {
                return null;
            }

            var image = bytes.AsSpan(0, read);
            if (kind != GpuCodeKind.Ptx)
            {
                return GpuCodeSearch.Analyze(kind, image, (long)address);
            }

            // A PTX module starts with .version/.target, not with an .entry directive.
            var body = PtxText.BodyFrom(image, 0);
            var kernels = PtxText.EntryNames(body);
            return kernels.Count == 0 ? null : new GpuCodeImage(GpuCodeKind.Ptx, (long)address, body.Length, kernels, HashConstants.FindInPtx(body));
        }
    }

    private static bool ReadHeader(SafeFileHandleReader memory, ulong address, Span<byte> header) =>
        address != 0 && address < long.MaxValue && memory.Read(header, (long)address) == header.Length;
}
