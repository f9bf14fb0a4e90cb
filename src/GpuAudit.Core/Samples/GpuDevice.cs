namespace GpuAudit.Core.Samples;

/// <summary>
/// A GPU as the auditor names it. <see cref="Uuid"/> is the join key everywhere (NVML's index
/// order is not stable across boots); <see cref="Index"/> is for people. A MIG instance is a
/// device of its own (<see cref="Mig"/> set, its own MIG-… UUID, an index after the physical
/// GPUs'): its processes, memory and GPM are its own, so it is classified and attributed on its
/// own. Its parent (<see cref="MigEnabled"/> true) carries the physical telemetry only.
/// </summary>
public sealed record GpuDevice(
    int Index,
    string Uuid,
    string Name,
    string Driver,
    long? MemTotalBytes,
    bool GpmSupported,
    string? PciBusId = null,
    bool? MigEnabled = null,
    MigInstance? Mig = null)
{
    /// <summary>A GPU in MIG mode: its work runs in its instances, which are classified instead.</summary>
    public bool IsMigParent => MigEnabled == true && Mig is null;
}

/// <summary>
/// Where a MIG device sits: its parent GPU and NVML's GPU instance and compute instance ids
/// (GPM is per GPU instance, so compute instances of one GPU instance share a GPM reading).
/// </summary>
public sealed record MigInstance(string ParentUuid, int ParentIndex, int GpuInstanceId, int ComputeInstanceId);
