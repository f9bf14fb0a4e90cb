// TEMPORARY placeholder until the inspector branch lands (replaced by that branch's file).
using GpuAudit.Core.Samples;

namespace GpuAudit.Core.Inspection;

public static class ProcessRecordAnalyzer
{
    public static ProcessInsight Analyze(ProcessRecord record) => new() { Pid = record.Pid };
}
