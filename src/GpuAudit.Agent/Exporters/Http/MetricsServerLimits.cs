namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// Bounds on what clients of /metrics may hold. A GPU job runs on the same node as the agent and
/// can reach its port, so these assume a hostile client: idle or half-open connections, huge or
/// trickled headers, and clients that never read must not exhaust file descriptors, memory or
/// threads, nor lock Prometheus out. Values: docs/metrics.md, "Serving /metrics".
/// </summary>
public sealed record MetricsServerLimits
{
    /// <summary>Open connections in all (over it, a new connection is closed at once).</summary>
    public int MaxConnections { get; init; } = 64;

    /// <summary>
    /// Open connections from one client address: one client (a job on this node) cannot take every
    /// connection slot and lock Prometheus, which scrapes from another address, out.
    /// </summary>
    public int MaxConnectionsPerClient { get; init; } = 8;

    /// <summary>Request line plus headers (Prometheus sends about 300 bytes; over it: 431).</summary>
    public int MaxRequestHeaderBytes { get; init; } = 8 * 1024;

    /// <summary>Request line alone (over it: 414).</summary>
    public int MaxRequestLineBytes { get; init; } = 2 * 1024;

    /// <summary>Time to receive a request's headers once it started (slowloris).</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a connection may sit idle, before its first request or between two. Longer than
    /// the usual scrape intervals (15-60 s), so Prometheus keeps reusing its connection.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(75);

    /// <summary>Time to finish a TLS handshake.</summary>
    public TimeSpan TlsHandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A client reading the response slower than this (after a 5 s grace) is dropped.</summary>
    public double MinResponseBytesPerSecond { get; init; } = 240;

    public static MetricsServerLimits Default { get; } = new();
}
