using System.Diagnostics;

namespace GpuAudit.Tests;

/// <summary>
/// Waits for real work (background threads, other processes) with a deadline: a probe asked every
/// 20 ms until it answers, a <see cref="TimeoutException"/> naming what never came once the deadline passes.
/// </summary>
internal static class Poll
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>The first non-null answer of <paramref name="probe"/>.</summary>
    public static async Task<T> UntilAsync<T>(Func<T?> probe, string what)
        where T : class
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < Deadline)
        {
            if (probe() is { } value)
            {
                return value;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"no {what} within {Deadline}");
    }

    /// <summary>Returns once <paramref name="probe"/> is true.</summary>
    public static Task UntilAsync(Func<bool> probe, string what) => UntilAsync(() => probe() ? what : null, what);
}
