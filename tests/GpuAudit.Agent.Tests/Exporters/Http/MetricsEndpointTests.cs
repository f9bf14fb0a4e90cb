using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using GpuAudit.Agent.Exporters;
using GpuAudit.Agent.Exporters.Http;
using Prometheus;

namespace GpuAudit.Agent.Tests.Exporters.Http;

/// <summary>The /metrics server on a real loopback port: negotiation, TLS, basic auth and the limits a hostile client meets.</summary>
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private const string User = "prometheus";
    private const string Password = "s3cret pass";

    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-endpoint-").FullName;
    private readonly List<string> _rejected = [];
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private MetricsEndpoint? _endpoint;
    private int _port;

    public Task InitializeAsync()
    {
        var metrics = new GpuAuditMetrics(_registry);
        metrics.Polls.Inc();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_endpoint is not null)
        {
            await _endpoint.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_gzip_scrape_gets_Content_Encoding_gzip_and_the_exposition_with_build_info()
    {
        await StartAsync();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, Url("http"));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var text = Gunzip(body);
        TextAssert.ContainsAll(
            text,
            "gpuaudit_build_info{version=\"",
            "gpuaudit_polls_total 1\n");
    }

    [Fact]
    public async Task Prometheus_gets_OpenMetrics()
    {
        await StartAsync();
        using var http = new HttpClient();
        const string accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

        using var response = await GetAsync(http, accept);

        Assert.Equal("application/openmetrics-text; version=1.0.0; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.EndsWith("# EOF\n", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Head_unknown_paths_and_other_methods()
    {
        await StartAsync();
        using var http = new HttpClient();

        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url("http")));
        using var missing = await http.GetAsync(new Uri($"http://127.0.0.1:{_port}/nothing"));
        using var post = await http.PostAsync(Url("http"), new StringContent("x"));
        using var landing = await http.GetAsync(new Uri($"http://127.0.0.1:{_port}/"));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.True(head.Content.Headers.ContentLength > 100);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Contains("href=\"metrics\"", await landing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_certificate_and_a_bcrypt_user_https_needs_the_password()
    {
        var certs = TestCertificates.Create(_dir);
        await StartAsync(WebConfig($"""
            {ServedWith(certs)}
            basic_auth_users:
              {User}: {BCrypt.Net.BCrypt.HashPassword(Password, 4)}
            """));
        using var http = new HttpClient(Trusting(certs));

        using var withPassword = await GetAsync(http, null, (User, Password));
        using var without = await GetAsync(http, null);
        using var wrong = await GetAsync(http, null, (User, "guess"));
        using var stranger = await GetAsync(http, null, ("mallory", Password));

        Assert.Equal(HttpStatusCode.OK, withPassword.StatusCode);
        Assert.Contains("gpuaudit_build_info", await withPassword.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Equal("Basic", without.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, stranger.StatusCode);
        Assert.Equal(3, _rejected.Count(r => r == "unauthorized"));
        await Assert.ThrowsAsync<HttpRequestException>(() => new HttpClient().GetAsync(new Uri($"http://127.0.0.1:{_port}/metrics")));
    }

    [Fact]
    public async Task RequireAndVerifyClientCert_admits_only_certificates_of_the_client_ca()
    {
        var certs = TestCertificates.Create(_dir);
        await StartAsync(WebConfig($"""
            {ServedWith(certs)}
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: {certs.CaFile}
            """));

        using var withCertificate = new HttpClient(Trusting(certs, certs.Client));
        using var response = await withCertificate.GetAsync(Url("https"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var withoutCertificate = new HttpClient(Trusting(certs));
        await Assert.ThrowsAsync<HttpRequestException>(() => withoutCertificate.GetAsync(Url("https")));

        var stranger = TestCertificates.Create(Directory.CreateDirectory(Path.Combine(_dir, "other")).FullName);
        using var foreignCertificate = new HttpClient(Trusting(certs, stranger.Client));
        await Assert.ThrowsAsync<HttpRequestException>(() => foreignCertificate.GetAsync(Url("https")));
    }

    [Fact]
    public async Task Idle_connections_from_one_client_cannot_lock_out_the_scraper_nor_hold_file_descriptors()
    {
        await StartAsync(limits: new MetricsServerLimits { MaxConnections = 64, MaxConnectionsPerClient = 4 });
        var fdsBefore = OpenFileDescriptors();
        var idle = new List<Socket>();
        try
        {
            // A job on the node opens 200 connections from its address and sends nothing.
            for (var i = 0; i < 200; i++)
            {
                idle.Add(Connect(IPAddress.Parse("127.0.0.2")));
            }

            var closedByServer = ClosedByPeer(idle, expected: 196);
            using var http = new HttpClient();
            using var scrape = await http.GetAsync(Url("http"));

            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            Assert.Equal(196, closedByServer);
            // This process holds the 200 client sockets too; the server's side is the rest.
            var serverSide = OpenFileDescriptors() - fdsBefore - idle.Count;
            Assert.True(serverSide < 30, $"{serverSide} more descriptors on the server's side with 4 idle connections kept");
            Assert.Equal(196, _rejected.Count(r => r == "client_connection_limit"));
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task The_server_wide_limit_closes_connections_beyond_it()
    {
        await StartAsync(limits: new MetricsServerLimits { MaxConnections = 6, MaxConnectionsPerClient = 100 });
        var sockets = Enumerable.Range(0, 10).Select(_ => Connect(IPAddress.Loopback)).ToList();
        try
        {
            Assert.Equal(4, ClosedByPeer(sockets, expected: 4));
            Assert.Equal(4, _rejected.Count(r => r == "connection_limit"));
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Idle_and_trickling_connections_are_closed_after_their_timeouts()
    {
        await StartAsync(limits: new MetricsServerLimits { KeepAliveTimeout = TimeSpan.FromSeconds(1), RequestHeadersTimeout = TimeSpan.FromSeconds(1) });
        using var idle = Connect(IPAddress.Loopback);
        using var trickle = Connect(IPAddress.Loopback);
        trickle.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n"u8.ToArray());

        // Kestrel checks timeouts once a second: allow a few of its heartbeats.
        Assert.True(ClosedByPeer(idle, TimeSpan.FromSeconds(6)), "idle connection still open");
        Assert.True(ClosedByPeer(trickle, TimeSpan.FromSeconds(6)), "connection trickling its headers still open");
    }

    [Fact]
    public async Task Oversized_headers_are_refused()
    {
        await StartAsync();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, Url("http"));
        request.Headers.Add("X-Padding", new string('a', 16 * 1024));

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task A_rate_limit_answers_429_beyond_the_burst()
    {
        await StartAsync(WebConfig("""
            rate_limit:
              interval: 1m
              burst: 2
            http_server_config:
              headers:
                X-Content-Type-Options: nosniff
            """));
        using var http = new HttpClient();

        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await http.GetAsync(Url("http"));
            codes.Add(response.StatusCode);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], codes);
    }

    private async Task StartAsync(WebConfig? web = null, MetricsServerLimits? limits = null)
    {
        var cache = new ExpositionCache(_registry, TimeProvider.System);
        cache.BeginTick(); // the registry as the test set it up is one published tick
        cache.EndTick();
        _port = FreePort();
        _endpoint = await MetricsEndpoint.StartAsync($"127.0.0.1:{_port}", cache, web, limits ?? MetricsServerLimits.Default, r => { lock (_rejected) { _rejected.Add(r); } }, _ => { }, TimeProvider.System);
    }

    private WebConfig WebConfig(string yaml) => WebConfigFile.Parse(Path.Combine(_dir, "web.yml"), yaml);

    /// <summary>The web config's <c>tls_server_config</c> with the server certificate and key of <paramref name="certs"/>; more keys of it may follow.</summary>
    private static string ServedWith(TestCertificates certs) => $"tls_server_config:\n  cert_file: {certs.ServerCertFile}\n  key_file: {certs.ServerKeyFile}";

    private Uri Url(string scheme) => new($"{scheme}://127.0.0.1:{_port}/metrics");

    private Task<HttpResponseMessage> GetAsync(HttpClient http, string? accept, (string User, string Password)? credentials = null)
    {
        var scheme = _endpoint!.Url.StartsWith("https", StringComparison.Ordinal) ? "https" : "http";
        var request = new HttpRequestMessage(HttpMethod.Get, Url(scheme));
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        if (credentials is { } c)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.User}:{c.Password}")));
        }

        return http.SendAsync(request);
    }

    private static SocketsHttpHandler Trusting(TestCertificates certs, X509Certificate2? client = null)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certs.IsIssuedByCa(new X509Certificate2(certificate));
        if (client is not null)
        {
            handler.SslOptions.ClientCertificates = [client];
        }

        return handler;
    }

    private Socket Connect(IPAddress from)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(from, 0));
        socket.Connect(new IPEndPoint(IPAddress.Loopback, _port));
        return socket;
    }

    /// <summary>How many of <paramref name="sockets"/> the server closed, waiting (10 s at most) for <paramref name="expected"/>.</summary>
    private static int ClosedByPeer(List<Socket> sockets, int expected)
    {
        var closed = new HashSet<Socket>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (closed.Count < expected && DateTime.UtcNow < deadline)
        {
            foreach (var socket in sockets.Where(s => !closed.Contains(s) && ClosedByPeer(s, TimeSpan.Zero)))
            {
                closed.Add(socket);
            }

            Thread.Sleep(50);
        }

        // Then make sure no more than expected are closed: the kept ones stay open.
        Thread.Sleep(300);
        return closed.Count + sockets.Count(s => !closed.Contains(s) && ClosedByPeer(s, TimeSpan.Zero));
    }

    /// <summary>
    /// True when the server closed the connection within <paramref name="wait"/> (EOF or reset),
    /// after any last answer it sent (a 408 for headers that never finished).
    /// </summary>
    private static bool ClosedByPeer(Socket socket, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        var buffer = new byte[4096];
        try
        {
            do
            {
                var left = deadline - DateTime.UtcNow;
                if (!socket.Poll(left > TimeSpan.Zero ? left : TimeSpan.Zero, SelectMode.SelectRead))
                {
                    return false;
                }

                if (socket.Receive(buffer) == 0)
                {
                    return true;
                }
            }
            while (DateTime.UtcNow < deadline);
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private static int OpenFileDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Gunzip(byte[] bytes)
    {
        using var input = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var reader = new StreamReader(input);
        return reader.ReadToEnd();
    }
}
