using System.Net;

namespace GpuAudit.Core.Inspection;

/// <summary>An established outbound TCP connection of a process in an inspected process's job tree.</summary>
public sealed record OutboundConnection(int Pid, string? Comm, IPEndPoint Local, IPEndPoint Remote, bool PoolPort, bool? Allowlisted);
