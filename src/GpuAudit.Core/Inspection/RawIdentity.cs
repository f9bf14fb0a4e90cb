namespace GpuAudit.Core.Inspection;

/// <summary>
/// A live process's identity as /proc gave it, before redaction: what the identity rules read
/// (a secret-shaped token must not hide a miner's pool URL or a container id from them). Never
/// stored or shown: the <see cref="Samples.ProcessRecord"/> made from it is redacted.
/// </summary>
public sealed record RawIdentity(string? Comm, string? Exe, IReadOnlyList<string> Argv, string? Cgroup, IReadOnlyList<string> GpuLibs);
