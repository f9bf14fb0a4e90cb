using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Threading.RateLimiting;
using GpuAudit.Agent.Exporters.Http;
using GpuAudit.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace GpuAudit.Agent.Exporters;

/// <summary>
/// Serves /metrics with Kestrel: the exposition of the last whole poll, rendered once per poll
/// on the first scrape (<see cref="ExpositionCache"/>), negotiated to the text format or OpenMetrics, gzip when
/// accepted, written in one piece. Kestrel gives TLS, connection and header limits and timeouts
/// as configuration (<see cref="MetricsServerLimits"/>); <c>--web-config</c> adds TLS, client
/// certificates, basic auth, headers and a rate limit in the exporter-toolkit format. The host is
/// the empty builder: no configuration files, environment variables or logging providers can
/// change how it listens. The listen address is HOST:PORT (0.0.0.0, ::, * or empty: all
/// interfaces; localhost: loopback).
/// </summary>
public sealed class MetricsEndpoint : IAsyncDisposable
{
    public const int DefaultPort = 9477;
    public const string DefaultListen = "0.0.0.0:9477";

    private const string LandingPage = """
        <!DOCTYPE html>
        <html><head><title>GpuAudit agent</title></head>
        <body><h1>GpuAudit agent</h1><p><a href="metrics">/metrics</a></p></body></html>
        """;

    private readonly WebApplication _app;
    private readonly ExpositionCache _cache;
    private readonly BasicAuthenticator? _auth;
    private readonly RateLimiter? _rateLimiter;
    private readonly IReadOnlyDictionary<string, string> _headers;
    private readonly Action<string> _rejected;
    private readonly byte[] _landingPage = System.Text.Encoding.UTF8.GetBytes(LandingPage);

    private MetricsEndpoint(WebApplication app, ExpositionCache cache, WebConfig? web, Action<string> rejected, string url)
    {
        _app = app;
        _cache = cache;
        _rejected = rejected;
        _headers = web?.Headers ?? new Dictionary<string, string>();
        _auth = web is { BasicAuthUsers.Count: > 0 } ? new BasicAuthenticator(web.BasicAuthUsers) : null;
        _rateLimiter = web?.RateLimit is { } rate
            ? new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions { TokenLimit = rate.Burst, TokensPerPeriod = 1, ReplenishmentPeriod = rate.Interval, QueueLimit = 0, AutoReplenishment = true })
            : null;
        Url = url;
    }

    /// <summary>The URL a scraper would use.</summary>
    public string Url { get; }

    public static (string Host, int Port) ParseListen(string listen)
    {
        var colon = listen.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(listen.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new UserInputException($"'{listen}' is not HOST:PORT; use for example 127.0.0.1:{DefaultPort} or 0.0.0.0:{DefaultPort}") { Input = UserInput.Listen };
        }

        var host = listen[..colon].Trim('[', ']');
        if (host is not ("" or "*" or "localhost") && !IPAddress.TryParse(host, out _))
        {
            throw new UserInputException($"'{listen}': '{host}' is not an IP address; use an address of this node, 0.0.0.0 (all interfaces) or localhost") { Input = UserInput.Listen };
        }

        return (host, port);
    }

    /// <summary>
    /// Starts serving. <paramref name="rejected"/> is told the reason of every refused connection
    /// or request (connection_limit, client_connection_limit, unauthorized, rate_limited).
    /// <paramref name="time"/> paces the checks for a renewed TLS certificate.
    /// </summary>
    public static async Task<MetricsEndpoint> StartAsync(string listen, ExpositionCache cache, WebConfig? web, MetricsServerLimits limits, Action<string> rejected, Action<string> warn, TimeProvider time)
    {
        var (host, port) = ParseListen(listen);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        // NoDelay is Kestrel's default (small writes go out at once, no Nagle), stated because the
        // 40 ms keep-alive stalls of the old server came from Nagle meeting the peer's delayed ACK.
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration().UseSockets(o => o.NoDelay = true);
        var limiter = new ConnectionLimiter(limits, rejected);
        var certificate = web?.Tls is { } tls ? new ServerCertificate(tls, web.Path, warn, time) : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.AllowSynchronousIO = false;
            var l = kestrel.Limits;
            // Connection counts are limited (and refusals counted) by the ConnectionLimiter below.
            l.MaxRequestHeadersTotalSize = limits.MaxRequestHeaderBytes;
            l.MaxRequestLineSize = limits.MaxRequestLineBytes;
            l.MaxRequestHeaderCount = 64;
            l.MaxRequestBodySize = 0;
            l.RequestHeadersTimeout = limits.RequestHeadersTimeout;
            l.KeepAliveTimeout = limits.KeepAliveTimeout;
            l.MinResponseDataRate = new MinDataRate(limits.MinResponseBytesPerSecond, TimeSpan.FromSeconds(5));
            void Configure(ListenOptions options)
            {
                options.Protocols = HttpProtocols.Http1;
                options.Use(limiter.Middleware);
                if (certificate is not null)
                {
                    options.UseHttps(HttpsOptions(web!.Tls!, certificate, limits));
                }
            }

            switch (host)
            {
                case "" or "*":
                    kestrel.ListenAnyIP(port, Configure);
                    break;
                case "localhost":
                    kestrel.ListenLocalhost(port, Configure);
                    break;
                default:
                    kestrel.Listen(IPAddress.Parse(host), port, Configure);
                    break;
            }
        });

        var app = builder.Build();
        var scheme = certificate is null ? "http" : "https";
        var shown = host is "" or "*" or "0.0.0.0" or "::" ? "localhost" : host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        var endpoint = new MetricsEndpoint(app, cache, web, rejected, $"{scheme}://{shown}:{port}/metrics");
        app.Run(endpoint.HandleAsync);
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new UserInputException($"cannot serve /metrics on {listen}: {e.Message}; pick another HOST:PORT (is another exporter on port {port}?)", e) { Input = UserInput.Listen };
        }

        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _rateLimiter?.Dispose();
        _auth?.Dispose();
    }

    private static HttpsConnectionAdapterOptions HttpsOptions(TlsSettings tls, ServerCertificate certificate, MetricsServerLimits limits)
    {
        var options = new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, _) => certificate.Current,
            SslProtocols = tls.Protocols,
            HandshakeTimeout = limits.TlsHandshakeTimeout,
            CheckCertificateRevocation = false,
            ClientCertificateMode = tls.ClientAuth switch
            {
                ClientAuthType.NoClientCert => ClientCertificateMode.NoCertificate,
                ClientAuthType.RequestClientCert or ClientAuthType.VerifyClientCertIfGiven => ClientCertificateMode.AllowCertificate,
                _ => ClientCertificateMode.RequireCertificate,
            },
        };
        var verify = tls.ClientAuth is ClientAuthType.VerifyClientCertIfGiven or ClientAuthType.RequireAndVerifyClientCert;
        options.ClientCertificateValidation = (client, _, _) => !verify || ChainsTo(client, tls.ClientCas!);
        return options;
    }

    /// <summary>Whether a client certificate chains to one of the configured CAs (and only those).</summary>
    private static bool ChainsTo(X509Certificate2 client, X509Certificate2Collection cas)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(cas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // Client authentication, when the certificate names its purposes.
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2"));
        return chain.Build(client);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        foreach (var (name, value) in _headers)
        {
            response.Headers[name] = value;
        }

        if (_rateLimiter is not null)
        {
            using var lease = _rateLimiter.AttemptAcquire();
            if (!lease.IsAcquired)
            {
                _rejected("rate_limited");
                response.StatusCode = StatusCodes.Status429TooManyRequests;
                return;
            }
        }

        if (_auth is not null && !await _auth.IsAuthorizedAsync(request.Headers.Authorization, context.RequestAborted))
        {
            _rejected("unauthorized");
            response.StatusCode = StatusCodes.Status401Unauthorized;
            response.Headers.WWWAuthenticate = "Basic realm=\"gpuaudit\"";
            return;
        }

        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }

        switch (request.Path.Value)
        {
            case "/metrics":
                await ServeMetricsAsync(request, response, context.RequestAborted);
                break;
            case "/" or "":
                await WriteAsync(request, response, "text/html; charset=utf-8", _landingPage, context.RequestAborted);
                break;
            default:
                response.StatusCode = StatusCodes.Status404NotFound;
                break;
        }
    }

    private async Task ServeMetricsAsync(HttpRequest request, HttpResponse response, CancellationToken cancellationToken)
    {
        var negotiated = ScrapeNegotiation.From(request.Headers.Accept, request.Headers.AcceptEncoding);
        var (format, bytes) = await _cache.GetAsync(negotiated.Formats, negotiated.Gzip, cancellationToken);
        response.Headers.Vary = "Accept, Accept-Encoding";
        if (negotiated.Gzip)
        {
            response.Headers.ContentEncoding = "gzip";
        }

        await WriteAsync(request, response, ScrapeNegotiation.ContentType(format), bytes, cancellationToken);
    }

    /// <summary>
    /// One write with the length known: Kestrel sends headers and body together in one flush
    /// (no chunked encoding, no small first segment for Nagle to hold back).
    /// </summary>
    private static Task WriteAsync(HttpRequest request, HttpResponse response, string contentType, byte[] body, CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body, cancellationToken).AsTask();
    }
}
