namespace GpuAudit.Core.Features;

/// <summary>
/// What the attribution needs to know about one reading as a whole, worked out once when the
/// reading enters the window instead of at every fit that reads it: how many of its processes have
/// a known SM share, and which one, if any, took part in it alone.
/// </summary>
internal readonly record struct ReadingShares(int Known, int Solo)
{
    /// <summary>A process "takes part" in a reading from this SM share.</summary>
    public const double ActiveShare = 0.02;

    /// <summary><see cref="Solo"/> when no process took part.</summary>
    public const int NoneActive = -1;

    /// <summary><see cref="Solo"/> when more than one process took part.</summary>
    public const int SeveralActive = -2;

    public static ReadingShares Of(ReadOnlySpan<ProcessShare> procs)
    {
        var known = 0;
        var solo = NoneActive;
        for (var p = 0; p < procs.Length; p++)
        {
            var share = procs[p].Share;
            if (!double.IsNaN(share))
            {
                known++;
                if (share >= ActiveShare)
                {
                    solo = solo == NoneActive ? p : SeveralActive;
                }
            }
        }

        return new ReadingShares(known, solo);
    }
}
