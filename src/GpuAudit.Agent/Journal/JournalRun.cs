namespace GpuAudit.Agent.Journal;

/// <summary>One run of the agent on this journal: when it opened it (wall clock), on which node, with which version, and why (a moved-aside journal).</summary>
public sealed record JournalRun(long Seq, string JournalId, double Time, string? Node, string? Version, string? Note);
