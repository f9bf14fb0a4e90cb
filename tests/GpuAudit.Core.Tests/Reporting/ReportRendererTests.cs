using GpuAudit.Tests;
using GpuAudit.Core.Policy;
using GpuAudit.Core.Reporting;

namespace GpuAudit.Core.Tests.Reporting;

public sealed class ReportRendererTests
{
    [Theory]
    [InlineData(ReportFormat.Markdown, "report.md")]
    [InlineData(ReportFormat.Json, "report.json")]
    [InlineData(ReportFormat.Html, "report.html")]
    public void Renders_match_the_golden_files(ReportFormat format, string golden)
    {
        Golden.AssertMatches(Path.Combine("tests", "GpuAudit.Core.Tests", "Reporting", "Golden", golden), ReportText.Render(FixedReport.Create(), format));
    }

    [Fact]
    public void Headline_counts_violations_but_not_allowed_findings_and_the_hash_minutes()
    {
        var report = FixedReport.Create();

        Assert.Equal("1 violation, 1.5 GPU-minutes diverted", report.Headline);
        Assert.Equal(["node-a", "node-b"], report.Nodes);
        Assert.Equal(540, report.WallSeconds);
    }

    [Fact]
    public void A_job_with_only_allowed_findings_is_clean()
    {
        var report = FixedReport.Create();
        report = report with { Violations = report.AllowedFindings };

        Assert.Equal("clean", report.Headline);
        Assert.Contains("warm-up waits for the dataset mount", MarkdownReportRenderer.Render(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Diverted_minutes_of_an_open_violation_run_to_the_end_of_the_window()
    {
        var report = FixedReport.Create();
        var open = report.Violations.First() with { End = null, Rule = PolicyRule.MinerIdentity };
        report = report with { Violations = [open] };

        Assert.Equal("1 violation, 8.3 GPU-minutes diverted", report.Headline);
    }

    [Theory]
    [InlineData("md", ReportFormat.Markdown)]
    [InlineData("html", ReportFormat.Html)]
    [InlineData("json", ReportFormat.Json)]
    public void Format_names_parse(string text, ReportFormat expected)
    {
        Assert.True(ReportText.TryParseFormat(text, out var format));
        Assert.Equal(expected, format);
    }

    [Fact]
    public void Unknown_format_names_do_not_parse()
    {
        Assert.False(ReportText.TryParseFormat("pdf", out _));
    }
}
