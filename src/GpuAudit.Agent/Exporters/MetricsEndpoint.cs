using System.Globalization;
using System.Net;
using GpuAudit.Core;
using Prometheus;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// Serves /metrics over HTTP (prometheus-net's HttpListener server, so no web framework is
/// needed in the NativeAOT binary). The listen address is HOST:PORT; 0.0.0.0 and * mean all
/// interfaces.
/// </summary>
public sealed class MetricsEndpoint : IDisposable
{
    public const int DefaultPort = 9477;
    public const string DefaultListen = "0.0.0.0:9477";

    private readonly MetricServer _server;

    private MetricsEndpoint(MetricServer server, string url)
    {
        _server = server;
        Url = url;
    }

    /// <summary>The URL a scraper would use.</summary>
    public string Url { get; }

    public static (string Host, int Port) ParseListen(string listen)
    {
        var colon = listen.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(listen.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new UserInputException($"--listen '{listen}' is not HOST:PORT; use for example 127.0.0.1:{DefaultPort} or 0.0.0.0:{DefaultPort}");
        }

        var host = listen[..colon].Trim('[', ']');
        return (host, port);
    }

    public static MetricsEndpoint Start(string listen, CollectorRegistry registry)
    {
        var (host, port) = ParseListen(listen);
        var listenerHost = host is "0.0.0.0" or "*" or "" or "::" ? "+" : host;
        var server = StartServer(listenerHost, port, registry, listen);

        var shown = listenerHost == "+" ? "localhost" : host;
        return new MetricsEndpoint(server, $"http://{shown}:{port}/metrics");
    }

    public void Dispose() => _server.Dispose();

    private static MetricServer StartServer(string host, int port, CollectorRegistry registry, string listen)
    {
        for (var attempt = 1; ; attempt++)
        {
            var server = new MetricServer(host, port, "metrics/", registry);
            try
            {
                server.Start();
                return server;
            }
            catch (HttpListenerException e)
            {
                server.Dispose();
                throw new UserInputException($"cannot serve /metrics on {listen}: {e.Message}; pick another address with --listen HOST:PORT (is another exporter on port {port}?)", e);
            }
            catch (Exception e) when (attempt < 3 && e is ArgumentNullException or NullReferenceException or ObjectDisposedException)
            {
                // .NET's managed HttpListener can fail inside Start when a client connects at the
                // very moment it starts listening (a scraper polling a restarting agent): a race in
                // its endpoint listener's constructor. A fresh listener a moment later is fine.
                server.Dispose();
                Thread.Sleep(50 * attempt);
            }
        }
    }
}
