namespace GpuAudit.Core.Reporting;

/// <summary>The formats <c>gpuaudit report --format</c> writes.</summary>
public enum ReportFormat
{
    Markdown,
    Html,
    Json,
}
