using GpuAudit.Agent.Tests.Journal;

namespace GpuAudit.Agent.Tests.Reporting;

public sealed class JournalReportSourceTests : IDisposable
{
    private static readonly JobRef Job = new("4242", "gpu-map", "alice");
    private readonly TempDirectory _dir = new();
    private readonly List<IDisposable> _open = [];

    [Fact]
    public void Mixed_trace_report_shows_the_hash_violation_on_pid_776_with_evidence()
    {
        var report = Replay("mixed").Build("4242");

        var violation = Assert.Single(report.Violations);
        Assert.Equal((PolicyRule.HashCompute, 776), (violation.Rule, violation.Pid!.Value));
        Assert.NotEmpty(violation.Evidence);
        Assert.StartsWith("1 violation, 0.", report.Headline, StringComparison.Ordinal);
        Assert.Equal("alice", report.User);
        Assert.Equal(["h100-probe"], report.Nodes);
        Assert.Equal([775, 776], report.Processes.Select(p => p.Pid).Order());
        Assert.Equal(WorkloadClass.Hash, report.Processes.Single(p => p.Pid == 776).ClassSeconds.Dominant);
        Assert.True(report.GpuSeconds[WorkloadClass.Mixed] > 20);
        Assert.True(report.EnergyJoules > 1000);
        Assert.NotEmpty(Assert.Single(report.Timelines).Points);
        Assert.Contains("\"rule\": \"hash_compute\"", JsonReportRenderer.Render(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Transformer_training_report_is_clean()
    {
        var report = Replay("train_transformer").Build("4242");

        Assert.Equal("clean", report.Headline);
        Assert.True(report.GpuSeconds[WorkloadClass.Training] > 0);
    }

    [Fact]
    public void An_allowance_shows_as_an_allowed_finding_with_its_reason()
    {
        var policy = PolicyParser.Parse("policy.json", """{ "allowances": [ { "job": "4242", "rules": ["hash_compute"], "reason": "dedup job hashes shards" } ] }""", new Dictionary<string, string>());
        var report = Replay("mixed", policy).Build("4242");

        Assert.Equal("clean", report.Headline);
        Assert.Equal("dedup job hashes shards", Assert.Single(report.AllowedFindings).AllowedBy!.Reason);
        Assert.Contains("dedup job hashes shards", MarkdownReportRenderer.Render(report), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_job_is_a_clear_error_not_a_clean_report()
    {
        var source = Replay("mixed");
        var error = Assert.Throws<UserInputException>(() => source.Build("9999"));
        Assert.Contains("no record of job 9999", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (var open in Enumerable.Reverse(_open))
        {
            open.Dispose();
        }

        _dir.Dispose();
    }

    /// <summary>The report source over a journal that replayed <paramref name="recording"/> (GPU 0 given to job 4242); the journal stays open, as the agent's would.</summary>
    private JournalReportSource Replay(string recording, AuditPolicy? policy = null)
    {
        var journal = AuditJournal.Open(_dir.Path);
        _open.Add(journal);
        JournalReplay.Run(journal, recording, Job, policy);
        var reader = JournalReader.Open(_dir.Path);
        _open.Add(reader);
        return new JournalReportSource(reader);
    }
}
