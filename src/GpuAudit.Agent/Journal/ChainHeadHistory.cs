using GpuAudit.Agent.Reporting;

namespace GpuAudit.Agent.Journal;

/// <summary>
/// The chain heads Prometheus scraped from an agent (<c>gpuaudit_journal_chain_head_seq</c> and
/// <c>_hash</c>, joined on time): the off-node record <c>gpuaudit verify --prometheus</c> checks
/// the journal against.
/// </summary>
public static class ChainHeadHistory
{
    /// <summary>Points per series per query; Prometheus refuses more than 11,000.</summary>
    private const int MaxPoints = 10_000;

    public static async Task<IReadOnlyList<HeadSample>> FetchAsync(HttpClient http, Uri baseUrl, string journalId, double from, double to, CancellationToken cancellationToken)
    {
        var step = Math.Max(1, Math.Ceiling((to - from) / MaxPoints));
        var selector = PrometheusQuery.Matcher("journal_id", journalId);
        var seqs = await PrometheusQuery.RangeAsync(http, baseUrl, "gpuaudit_journal_chain_head_seq" + selector, from, to, step, cancellationToken);
        var hashes = await PrometheusQuery.RangeAsync(http, baseUrl, "gpuaudit_journal_chain_head_hash" + selector, from, to, step, cancellationToken);
        var part0 = Points(hashes.Where(s => s.Label("part") == "0"));
        var part1 = Points(hashes.Where(s => s.Label("part") == "1"));
        var samples = new List<HeadSample>();
        foreach (var (time, seq) in Points(seqs))
        {
            if (part0.TryGetValue(time, out var p0) && part1.TryGetValue(time, out var p1))
            {
                samples.Add(new HeadSample(time, (long)seq, (long)p0, (long)p1));
            }
        }

        return samples.OrderBy(s => s.Time).ToList();
    }

    private static Dictionary<double, double> Points(IEnumerable<PrometheusSeries> series)
    {
        var points = new Dictionary<double, double>();
        foreach (var s in series)
        {
            foreach (var (time, value) in s.Points)
            {
                points[time] = value;
            }
        }

        return points;
    }
}
