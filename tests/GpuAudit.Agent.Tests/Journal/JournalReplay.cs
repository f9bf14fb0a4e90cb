namespace GpuAudit.Agent.Tests.Journal;

/// <summary>Runs a recorded trace through policy, summarizer and journal the way the agent does.</summary>
internal static class JournalReplay
{
    public static List<Violation> Run(AuditJournal journal, string trace, JobRef? gpuJob, AuditPolicy? policy = null)
    {
        var engine = new PolicyEngine(policy ?? AuditPolicy.Default, "h100-probe");
        var summarizer = new MinuteSummarizer("h100-probe");
        var opened = new List<Violation>();
        foreach (var tick in TruthTicks.From(RecordedTrace.Load(RepoPaths.Trace(trace)), gpuJob))
        {
            var result = engine.Evaluate(tick);
            journal.Record(result);
            opened.AddRange(result.Opened);
            journal.Record(summarizer.Add(tick));
        }

        journal.Record(summarizer.Flush());
        return opened;
    }
}
