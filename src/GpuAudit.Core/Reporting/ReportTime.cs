using System.Globalization;

namespace GpuAudit.Core.Reporting;

/// <summary>
/// Times users type for --from/--to: Unix seconds, ISO 8601 (UTC unless an offset is given),
/// "now", or an age such as "-90m", "-6h", "-7d".
/// </summary>
public static class ReportTime
{
    public const string Formats = "Unix seconds (1795733327), ISO 8601 (2026-11-26T10:00:00Z), now, or an age like -90m, -6h, -7d";

    public static bool TryParse(string text, DateTimeOffset now, out double unixSeconds)
    {
        text = text.Trim();
        var nowSeconds = now.ToUnixTimeMilliseconds() / 1000.0;
        if (text == "now")
        {
            unixSeconds = nowSeconds;
            return true;
        }

        if (text.Length > 2 && text[0] == '-' && char.IsAsciiLetter(text[^1])
            && double.TryParse(text.AsSpan(1, text.Length - 2), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
        {
            var unit = text[^1] switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, _ => 0 };
            unixSeconds = nowSeconds - (amount * unit);
            return unit > 0;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out unixSeconds))
        {
            return double.IsFinite(unixSeconds);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            unixSeconds = parsed.ToUnixTimeMilliseconds() / 1000.0;
            return true;
        }

        return false;
    }
}
