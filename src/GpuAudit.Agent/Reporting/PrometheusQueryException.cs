namespace GpuAudit.Agent.Reporting;

/// <summary>Prometheus answered a query with an error (bad PromQL, too many points...).</summary>
public sealed class PrometheusQueryException : Exception
{
    public PrometheusQueryException()
    {
    }

    public PrometheusQueryException(string message)
        : base(message)
    {
    }

    public PrometheusQueryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
