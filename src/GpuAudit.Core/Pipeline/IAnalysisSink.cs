namespace GpuAudit.Core.Pipeline;

/// <summary>A stage after the analysis (policy, exporter, journal, console summary), called once per tick in order.</summary>
public interface IAnalysisSink
{
    void OnTick(TickAnalysis analysis, TimeSpan pollDuration);
}
