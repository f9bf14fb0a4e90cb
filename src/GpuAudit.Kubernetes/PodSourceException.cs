namespace GpuAudit.Kubernetes;

/// <summary>A pod source that could not be read: one line, for the log and doctor.</summary>
public sealed class PodSourceException(string message, Exception? inner = null) : Exception(message, inner);
