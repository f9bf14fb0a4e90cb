namespace GpuAudit.Agent.Tests.Journal;

/// <summary>Reads a journal's rows the way `report` does (a second, read-only connection), materialised for assertions.</summary>
internal static class JournalTestReads
{
    public static List<Violation> Violations(this AuditJournal journal, string job, double from, double to)
    {
        using var reader = JournalReader.Open(journal.Directory);
        return reader.Violations(job, from, to).ToList();
    }

    public static IReadOnlyList<JobMinute> JobMinutes(this AuditJournal journal, string job, double from, double to)
    {
        using var reader = JournalReader.Open(journal.Directory);
        return reader.JobMinutes(job, from, to);
    }

    public static double DivertedSeconds(this AuditJournal journal, string job, double from, double to)
    {
        using var reader = JournalReader.Open(journal.Directory);
        return reader.DivertedSeconds(job, from, to);
    }
}
