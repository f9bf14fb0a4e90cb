namespace GpuAudit.Agent.Journal;

/// <summary>When a journal saw a job: first and last moment, and a user it named.</summary>
public sealed record JobSighting(double First, double Last, string? User);
