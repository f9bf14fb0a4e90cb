namespace GpuAudit.Tests;

/// <summary>
/// The input each secret rule scans longest: what a watched process would put in its command line
/// to make the redactor slow. The tests bound the time on them; the benchmarks measure it.
/// </summary>
internal static class RedactorWorstCases
{
    /// <summary>The worst case of <paramref name="shape"/>, about <paramref name="size"/> characters long.</summary>
    public static string Of(string shape, int size) => shape switch
    {
        "url" => new string('x', size / 2) + "://" + new string('y', size / 2),
        "keyvalue" => string.Concat(Enumerable.Repeat("key=", size / 4)),
        "prefix" => string.Concat(Enumerable.Repeat("sk-", size / 3)),
        "quotes" => string.Concat(Enumerable.Repeat("'a ", size / 3)),
        "options" => string.Concat(Enumerable.Repeat("--password ", size / 11)),
        "pem" => string.Concat(Enumerable.Repeat("-----BEGIN ", size / 11)),
        _ => throw new ArgumentOutOfRangeException(nameof(shape), shape, "no such worst case"),
    };
}
