namespace GpuAudit.Core.Pipeline;

/// <summary>A stage after the analysis (exporter, journal, console summary), called once per tick in order.</summary>
public interface IAnalysisSink
{
    void OnTick(TickAnalysis analysis, TimeSpan pollDuration);
}

/// <summary>
/// The sink that makes the tick's violations durable. <see cref="AuditRunner"/> runs journal
/// sinks before every other sink, and when one throws it skips the tick's other sinks: nothing is
/// exported that the journal does not hold.
/// </summary>
public interface IJournalSink : IAnalysisSink;
