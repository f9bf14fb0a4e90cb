using GpuAudit.Agent.Tests.Journal;
using GpuAudit.Core.Inspection;
using GpuAudit.Core.Reporting;
using GpuAudit.Core.Summaries;
using GpuAudit.Tests;

namespace GpuAudit.Agent.Tests.Reporting;

/// <summary>The HTML report of the mixed trace, rendered by a real browser (Debian package chromium).</summary>
[Trait("Category", "Integration")]
public sealed class HtmlReportChromiumTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [ToolFact(HeadlessChromium.Package)]
    public void Report_loads_in_headless_Chromium_without_errors_and_shows_the_timeline()
    {
        string page;
        using (var journal = AuditJournal.Open(_dir.Path))
        {
            JournalReplay.Run(journal, "mixed", new JobRef("4242", "gpu-map", "alice"));
            page = Path.Combine(_dir.Path, "job-4242.html");
        }

        using (var reader = JournalReader.Open(_dir.Path))
        {
            File.WriteAllText(page, HtmlReportRenderer.Render(new JournalReportSource(reader).Build("4242")));
        }

        var (dom, log) = HeadlessChromium.DumpDom(page);
        var screenshot = Path.Combine(AppContext.BaseDirectory, "report-mixed-4242.png");
        File.Delete(screenshot);
        var screenshotLog = HeadlessChromium.Screenshot(page, screenshot);

        TextAssert.ContainsAll(
            dom,
            "<svg class=\"timeline\"",
            "<rect class=\"band\"",
            "<polyline class=\"utilization\"",
            "1 violation, 0.");
        foreach (var text in new[] { log, screenshotLog })
        {
            Assert.DoesNotContain("Uncaught", text, StringComparison.Ordinal);
            Assert.DoesNotContain(":CONSOLE(", text, StringComparison.Ordinal);
            Assert.DoesNotContain("net::ERR_", text, StringComparison.Ordinal);
        }

        var png = File.ReadAllBytes(screenshot);
        Assert.True(png.Length > 10_000, $"screenshot {screenshot} is only {png.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    public void Dispose() => _dir.Dispose();
}
