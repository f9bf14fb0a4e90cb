namespace GpuAudit.Tests;

/// <summary>Assertions on rendered text (exposition, OTLP payloads): ordinal, each missing piece named on failure.</summary>
internal static class TextAssert
{
    public static void ContainsAll(string text, params string[] expected)
    {
        foreach (var piece in expected)
        {
            Assert.Contains(piece, text, StringComparison.Ordinal);
        }
    }
}
