using System.Runtime.InteropServices;

namespace GpuAudit.Ebpf.Interop;

/// <summary>struct launch_key of Bpf/cuda_ledger.h (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LaunchKey
{
    public uint Tgid;
    public uint Entry;
    public ulong Handle;
}

/// <summary>struct launch_value of Bpf/cuda_ledger.h (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LaunchValue
{
    public ulong Count;
    public ulong FirstNs;
    public ulong LastNs;
}

/// <summary>struct pid_budget of Bpf/cuda_ledger.h (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PidBudget
{
    public uint Handles;
    public uint Events;
    public ulong EventsDropped;
}

/// <summary>struct ledger_event of Bpf/cuda_ledger.h: a fixed header, then the name bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LedgerEventHeader
{
    public const int NameMax = 1024;

    public uint Entry;
    public uint Tgid;
    public ulong Handle;
    public ulong Owner;
    public ulong Image;
    public ulong TimeNs;
    public uint NameLength;
    public uint Reserved;
}
