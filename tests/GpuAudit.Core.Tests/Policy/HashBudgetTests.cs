using GpuAudit.Core.Policy;

namespace GpuAudit.Core.Tests.Policy;

/// <summary>
/// The hash budget's ledger against a plain list summed oldest first: through the ring's growth,
/// its wrap, horizons that empty it, and seconds of zero (which add no entry).
/// </summary>
public sealed class HashBudgetTests
{
    [Theory]
    [InlineData(600, 1)]
    [InlineData(30, 7)]
    [InlineData(2.5, 11)]
    public void The_sum_over_the_horizon_and_its_start_match_a_plain_sum(double horizon, int seed)
    {
        var budget = new HashBudget(horizon);
        var reference = new List<(double Time, double Seconds)>();
        var random = new Random(seed);
        var time = 1_700_000_000.0;
        for (var tick = 0; tick < 5000; tick++)
        {
            // Bursts and gaps: a quarter of the ticks add nothing, some skip ahead past the horizon.
            time += random.Next(20) == 0 ? horizon * random.NextDouble() * 2 : 1;
            var seconds = random.Next(4) == 0 ? 0 : random.NextDouble();
            if (seconds > 0)
            {
                reference.Add((time, seconds));
            }

            reference.RemoveAll(e => e.Time <= time - horizon);
            var expected = 0.0;
            foreach (var (_, s) in reference)
            {
                expected += s;
            }

            var (sum, since) = budget.Add("GPU-0", "job", time, seconds);

            Assert.Equal(expected, sum);
            Assert.Equal(reference.Count > 0 ? reference[0].Time : time, since);
        }
    }
}
