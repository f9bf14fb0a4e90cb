using System.Text;
using Prometheus;

namespace GpuAudit.Agent.Tests.Journal;

/// <summary>Disk faults: a corrupt file is moved aside; a full disk holds rows in memory and writes them once it frees.</summary>
[Trait("Category", "Integration")]
public sealed class JournalFaultTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Theory]
    [InlineData(0, "header")]
    [InlineData(4096, "a page in the middle")]
    public async Task A_corrupt_journal_is_moved_aside_and_a_new_one_started(int offset, string where)
    {
        using (var journal = AuditJournal.Open(_dir.Path))
        {
            JournalReplay.Run(journal, "mixed", new JobRef("4242", "gpu-map"));
        }

        var path = Path.Combine(_dir.Path, AuditJournal.FileName);
        using (var file = File.OpenWrite(path))
        {
            file.Position = offset;
            file.Write(Enumerable.Repeat((byte)0x5a, 4096).ToArray());
        }

        var registry = Metrics.NewCustomRegistry();
        var warnings = new List<string>();
        using (var journal = AuditJournal.Open(_dir.Path, new JournalOptions { Metrics = new JournalMetrics(registry), Warn = warnings.Add }))
        {
            var v = new Violation { Id = "after", Rule = PolicyRule.HashCompute, Gpu = 0, Uuid = "GPU-x", Job = "4242", Start = 5, Evidence = ["e"] };
            journal.Record(new PolicyResult([v], [], [v]));
        }

        var aside = Assert.Single(Directory.GetFiles(_dir.Path, AuditJournal.FileName + ".corrupt-*"));
        Assert.Contains("gpuaudit_journal_corrupt_total 1\n", await AgentFixtures.ExpositionAsync(registry), StringComparison.Ordinal);
        Assert.Contains(warnings, w => w.Contains("is corrupt", StringComparison.Ordinal) && w.Contains(aside, StringComparison.Ordinal));
        using var reader = JournalReader.Open(_dir.Path);
        Assert.Equal(["after"], reader.AllViolations().Select(v => v.Id));
        Assert.Contains(Path.GetFileName(aside), reader.Runs()[0].Note, StringComparison.Ordinal);
        Assert.True(JournalVerifier.Verify(reader).Intact, $"new journal after corrupting {where}");
    }

    [TmpfsFact]
    public async Task A_full_disk_holds_the_violation_in_memory_and_writes_it_when_space_returns()
    {
        using var disk = new TinyTmpfs(1024);
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var registry = Metrics.NewCustomRegistry();
        using var journal = AuditJournal.Open(disk.Path, new JournalOptions { Metrics = new JournalMetrics(registry), Time = time });
        var summarizer = new MinuteSummarizer("n");
        var ticks = TruthTicks.From(Core.Trace.RecordedTrace.Load(RepoPaths.Trace("mixed")), new JobRef("4242", "gpu-map")).ToList();
        journal.Record(summarizer.Add(ticks[0]));

        disk.Fill();
        var v = new Violation { Id = "held", Rule = PolicyRule.HashCompute, Gpu = 0, Uuid = "GPU-x", Job = "4242", Start = 5, Evidence = ["e"] };
        journal.Record(new PolicyResult([v], [], [v]));
        foreach (var tick in ticks.Skip(1))
        {
            journal.Record(summarizer.Add(tick));
        }

        journal.Record(summarizer.Flush());
        Assert.True(journal.PendingRows > 0);
        var full = await AgentFixtures.ExpositionAsync(registry);
        Assert.True(double.Parse(System.Text.RegularExpressions.Regex.Match(full, "^gpuaudit_journal_write_errors_total (\\S+)$", System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, full);
        Assert.Contains($"gpuaudit_journal_pending_rows {journal.PendingRows}\n", full, StringComparison.Ordinal);

        disk.Free();
        time.Advance(TimeSpan.FromSeconds(2));
        journal.Record(MinuteBatch.Empty);

        Assert.Equal(0, journal.PendingRows);
        Assert.Contains("gpuaudit_journal_pending_rows 0\n", await AgentFixtures.ExpositionAsync(registry), StringComparison.Ordinal);
        using var reader = JournalReader.Open(disk.Path);
        Assert.Equal(["held"], reader.AllViolations().Select(r => r.Id));
        Assert.NotEmpty(reader.JobMinutes("4242", 0, double.MaxValue));
    }

    [TmpfsFact]
    public void A_disk_full_at_start_up_is_no_exit_and_the_journal_is_made_once_it_frees()
    {
        using var disk = new TinyTmpfs(512);
        disk.Fill();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        var journalDirectory = Path.Combine(disk.Path, "journal");
        Directory.CreateDirectory(journalDirectory);
        using var journal = AuditJournal.Open(journalDirectory, new JournalOptions { Time = time });
        var v = new Violation { Id = "early", Rule = PolicyRule.MinerIdentity, Gpu = 0, Uuid = "GPU-x", Job = "4242", Start = 5, Evidence = ["e"] };
        journal.Record(new PolicyResult([v], [], [v]));
        Assert.Equal(1, journal.PendingRows);

        disk.Free();
        time.Advance(TimeSpan.FromSeconds(2));
        journal.Record(MinuteBatch.Empty);

        Assert.Equal(0, journal.PendingRows);
        using var reader = JournalReader.Open(journalDirectory);
        Assert.Equal(["early"], reader.AllViolations().Select(r => r.Id));
    }

    [TmpfsFact]
    public async Task Rows_held_beyond_the_cap_drop_summaries_first()
    {
        using var disk = new TinyTmpfs(512);
        var registry = Metrics.NewCustomRegistry();
        using var journal = AuditJournal.Open(disk.Path, new JournalOptions { Metrics = new JournalMetrics(registry), MaxPendingRows = 3 });
        disk.Fill();

        var v = new Violation { Id = "kept", Rule = PolicyRule.HashCompute, Gpu = 0, Uuid = "GPU-x", Job = "4242", Start = 5, Evidence = ["e"] };
        journal.Record(new PolicyResult([v], [], [v]));
        var totals = new MinuteTotals(60, 120, Core.Reporting.ClassSeconds.Of((Core.Classification.WorkloadClass.Idle, 60)), 1, null, 0);
        journal.Record(new MinuteBatch([new GpuMinute("n", "GPU-x", 0, 60, totals), new GpuMinute("n", "GPU-y", 1, 60, totals), new GpuMinute("n", "GPU-z", 2, 60, totals)], [], []));

        Assert.Equal(1, journal.PendingRows);
        Assert.Contains("gpuaudit_journal_dropped_rows_total{kind=\"summary\"} 3\n", await AgentFixtures.ExpositionAsync(registry), StringComparison.Ordinal);
        disk.Free();
        journal.Record(new PolicyResult([], [v with { End = 9 }], []));
        using var reader = JournalReader.Open(disk.Path);
        Assert.Equal(9, Assert.Single(reader.AllViolations()).End);
    }

    public void Dispose() => _dir.Dispose();
}
