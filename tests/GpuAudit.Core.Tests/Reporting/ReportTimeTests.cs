namespace GpuAudit.Core.Tests.Reporting;

public sealed class ReportTimeTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_795_733_327);

    [Theory]
    [InlineData("1795733000", 1795733000)]
    [InlineData("1795733000.5", 1795733000.5)]
    [InlineData("now", 1795733327)]
    [InlineData("-90m", 1795733327 - 5400)]
    [InlineData("-6h", 1795733327 - 21600)]
    [InlineData("-7d", 1795733327 - 604800)]
    [InlineData("2026-11-26T22:48:47Z", 1795733327)]
    [InlineData("2026-11-26 22:48:47", 1795733327)]
    [InlineData("2026-11-26T23:48:47+01:00", 1795733327)]
    public void Parses_the_documented_forms(string text, double expected)
    {
        Assert.True(ReportTime.TryParse(text, Now, out var value));
        Assert.Equal(expected, value, 3);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("-5y")]
    [InlineData("")]
    public void Rejects_anything_else(string text)
    {
        Assert.False(ReportTime.TryParse(text, Now, out _));
    }
}
