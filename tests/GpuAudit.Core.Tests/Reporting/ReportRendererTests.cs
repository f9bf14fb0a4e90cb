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
    public void Diverted_minutes_are_the_sources_number_in_every_format()
    {
        var report = FixedReport.Create() with { DivertedSeconds = 500 };

        Assert.Equal("1 violation, 8.3 GPU-minutes diverted", report.Headline);
        Assert.Contains("8.3 GPU-minutes diverted", MarkdownReportRenderer.Render(report), StringComparison.Ordinal);
        Assert.Contains("8.3 GPU-minutes diverted", ReportText.Render(report, ReportFormat.Html), StringComparison.Ordinal);
        Assert.Contains("\"diverted_gpu_minutes\": 8.333", ReportText.Render(report, ReportFormat.Json), StringComparison.Ordinal);
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
