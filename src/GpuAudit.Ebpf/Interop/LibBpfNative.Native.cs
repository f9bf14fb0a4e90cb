using System.Runtime.InteropServices;

namespace GpuAudit.Ebpf.Interop;

/// <summary>
/// The libbpf (1.x) entry points the ledger uses, bound with LibraryImport against
/// <see cref="LibBpfLibrary.DefaultName"/>. libbpf 1.x reports errors as a negative errno from
/// int functions, and as NULL with errno set from pointer functions (SetLastError captures it).
/// Every signature is blittable: opaque handles are nint, strings are UTF-8 byte pointers.
/// </summary>
internal static unsafe partial class LibBpfNative
{
    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "libbpf_set_print")]
    internal static partial nint SetPrint(nint printFunction);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_object__open_mem", SetLastError = true)]
    internal static partial nint ObjectOpenMem(byte* objectBuffer, nuint size, nint options);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_object__load")]
    internal static partial int ObjectLoad(nint bpfObject);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_object__close")]
    internal static partial void ObjectClose(nint bpfObject);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_object__find_program_by_name")]
    internal static partial nint FindProgramByName(nint bpfObject, byte* name);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_object__find_map_by_name")]
    internal static partial nint FindMapByName(nint bpfObject, byte* name);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_map__fd")]
    internal static partial int MapFd(nint map);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_program__attach_uprobe_opts", SetLastError = true)]
    internal static partial nint AttachUprobe(nint program, int pid, byte* binaryPath, nuint functionOffset, BpfUprobeOptions* options);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_link__destroy")]
    internal static partial int LinkDestroy(nint link);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_map_get_next_key")]
    internal static partial int MapGetNextKey(int fd, void* key, void* nextKey);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_map_lookup_elem")]
    internal static partial int MapLookup(int fd, void* key, void* value);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "bpf_map_delete_elem")]
    internal static partial int MapDelete(int fd, void* key);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "libbpf_num_possible_cpus")]
    internal static partial int NumPossibleCpus();

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "ring_buffer__new", SetLastError = true)]
    internal static partial nint RingBufferNew(int mapFd, delegate* unmanaged[Cdecl]<nint, nint, nuint, int> sample, nint context, nint options);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "ring_buffer__poll")]
    internal static partial int RingBufferPoll(nint ringBuffer, int timeoutMilliseconds);

    [LibraryImport(LibBpfLibrary.DefaultName, EntryPoint = "ring_buffer__free")]
    internal static partial void RingBufferFree(nint ringBuffer);
}

/// <summary>
/// struct bpf_uprobe_opts as of libbpf 1.1 (the oldest libbpf this supports, Debian 12's). Later
/// versions append fields and accept the older size in <see cref="Size"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BpfUprobeOptions
{
    public nuint Size;
    public nuint RefCounterOffset;
    public ulong Cookie;
    /// <summary>C bool: 1 for a return probe.</summary>
    public byte Retprobe;
    public byte* FunctionName;
}
