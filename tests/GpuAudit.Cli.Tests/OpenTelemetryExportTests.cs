using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GpuAudit.Cli.Tests;

/// <summary>The optional OTLP export, against a minimal OTLP/HTTP receiver on loopback.</summary>
public sealed class OpenTelemetryExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpuaudit-otlp-").FullName;

    [Fact]
    public async Task Replay_exports_metrics_and_violation_logs_over_otlp_http_when_the_otel_variables_ask()
    {
        using var receiver = new OtlpReceiver();

        var (code, stderr) = await ReplayMixedInJob4242(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Url });

        Assert.True(code == 0, stderr);
        Assert.All(receiver.Requests, r => Assert.Equal("application/x-protobuf", r.ContentType));
        var metrics = receiver.Requests.Where(r => r.Path == "/v1/metrics").ToList();
        var logs = receiver.Requests.Where(r => r.Path == "/v1/logs").ToList();
        Assert.NotEmpty(metrics);
        Assert.NotEmpty(logs);
        // Protobuf carries strings as raw UTF-8: the instrument names and tag values are visible.
        // The last metrics export (the flush at exit) holds the final tick.
        var text = Encoding.UTF8.GetString(metrics[^1].Body);
        var logText = string.Concat(logs.Select(l => Encoding.UTF8.GetString(l.Body)));
        TextAssert.ContainsAll(
            logText,
            "violation opened: hash_compute (critical)",
            "gpuaudit.violation.rule",
            "4242");
        // The pipe label has the Prometheus values (tensor_imma), never the trace-format names (imma_tensor_util).
        TextAssert.ContainsAll(
            text,
            "gpuaudit.gpu.utilization",
            "gpuaudit.gpu.pipe.utilization",
            "tensor_imma",
            "gpuaudit.process.memory.used",
            "GPU-8dc927a2-2d2a-0eb2-59aa-7c156a06df4a");
        Assert.DoesNotContain("_util", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signal_endpoints_alone_are_used_as_given()
    {
        using var receiver = new OtlpReceiver();

        var (code, stderr) = await ReplayMixedInJob4242(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = string.Empty,
            ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = receiver.Url + "/gpu/metrics",
            ["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"] = receiver.Url + "/audit/logs",
        });

        Assert.True(code == 0, stderr);
        Assert.Contains(receiver.Requests, r => r.Path == "/gpu/metrics");
        Assert.Contains(receiver.Requests, r => r.Path == "/audit/logs");
        Assert.All(receiver.Requests, r => Assert.True(r.Path is "/gpu/metrics" or "/audit/logs", r.Path));
    }

    [Fact]
    public async Task A_signal_endpoint_that_is_not_a_url_is_one_line_and_exit_2()
    {
        var (code, _, stderr) = await GpuAuditProcess.RunWithEnvironmentAsync(
            _dir,
            new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = "collector:4318" },
            "replay", RepoPaths.Trace("mixed"), "--fast");

        Assert.Equal(2, code);
        Assert.StartsWith("gpuaudit: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=\"collector:4318\" is not an http(s) URL", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    /// <summary>`replay --fast` of the mixed recording with GPU 0 in job 4242, exporting OTLP/HTTP every 100 ms where <paramref name="endpoints"/> say.</summary>
    private async Task<(int Code, string Stderr)> ReplayMixedInJob4242(Dictionary<string, string> endpoints)
    {
        var jobMap = Directory.CreateDirectory(Path.Combine(_dir, "jobmap")).FullName;
        await File.WriteAllTextAsync(Path.Combine(jobMap, "0"), "4242 0\n");
        endpoints["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        endpoints["OTEL_METRIC_EXPORT_INTERVAL"] = "100";
        var (code, _, stderr) = await GpuAuditProcess.RunWithEnvironmentAsync(_dir, endpoints, "replay", RepoPaths.Trace("mixed"), "--fast", "--job-map", jobMap);
        return (code, stderr);
    }

    [Fact]
    public async Task Without_the_otel_variables_nothing_is_sent()
    {
        // Every HTTP request of the process goes through this proxy, so any OTLP export reaches it,
        // whatever endpoint the SDK would pick (its default is http://localhost:4318).
        using var proxy = new ProxyRecorder();
        var environment = new Dictionary<string, string>
        {
            ["http_proxy"] = proxy.Url,
            ["HTTP_PROXY"] = proxy.Url,
            ["no_proxy"] = string.Empty,
            ["NO_PROXY"] = string.Empty,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = string.Empty,
        };

        var (code, _, stderr) = await GpuAuditProcess.RunWithEnvironmentAsync(_dir, environment, "replay", RepoPaths.Trace("mixed"), "--fast");

        Assert.True(code == 0, stderr);
        Assert.Empty(proxy.RequestLines);

        // Control: the same run with the export turned on reaches the proxy, so the empty list
        // above means nothing was sent, not that nothing could have arrived.
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://localhost:4318";
        (code, _, stderr) = await GpuAuditProcess.RunWithEnvironmentAsync(_dir, environment, "replay", RepoPaths.Trace("mixed"), "--fast");

        Assert.True(code == 0, stderr);
        Assert.Contains("POST http://localhost:4318/v1/metrics HTTP/1.1", proxy.RequestLines);
        Assert.Contains("POST http://localhost:4318/v1/logs HTTP/1.1", proxy.RequestLines);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// An HTTP proxy on loopback that forwards nothing: it keeps the request line of each request
    /// ("POST http://host:port/path HTTP/1.1"), reads the body and answers 200, one request per connection.
    /// </summary>
    private sealed class ProxyRecorder : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

        public ProxyRecorder()
        {
            _listener.Start();
            Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
            _ = AcceptAsync();
        }

        public string Url { get; }

        public System.Collections.Concurrent.ConcurrentQueue<string> RequestLines { get; } = new();

        public void Dispose() => _listener.Stop();

        private async Task AcceptAsync()
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                _ = ServeAsync(client);
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    var stream = client.GetStream();
                    using var reader = new StreamReader(stream, Encoding.ASCII, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
                    var requestLine = await reader.ReadLineAsync(timeout.Token);
                    if (requestLine is null)
                    {
                        return;
                    }

                    RequestLines.Enqueue(requestLine);
                    var length = 0;
                    while (await reader.ReadLineAsync(timeout.Token) is { Length: > 0 } header)
                    {
                        if (header.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                        {
                            length = int.Parse(header.AsSpan("Content-Length:".Length).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                        }
                    }

                    var body = new char[length];
                    await reader.ReadBlockAsync(body, timeout.Token);
                    await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), timeout.Token);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or FormatException)
                {
                    // A broken request: its line, if read, is kept; the test asserts on those.
                }
            }
        }
    }

    /// <summary>A minimal OTLP/HTTP receiver on loopback: answers every request 200 and keeps it.</summary>
    internal sealed class OtlpReceiver : IDisposable
    {
        private readonly HttpListener _listener = new();

        public OtlpReceiver()
        {
            var port = BackgroundProcess.FreePort();
            Url = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Url + "/");
            _listener.Start();
            _ = CollectAsync();
        }

        public string Url { get; }

        public System.Collections.Concurrent.ConcurrentQueue<(string Path, string? ContentType, byte[] Body)> Requests { get; } = new();

        public void Dispose() => _listener.Close();

        private async Task CollectAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                // Kept before the answer: once the exporter has its 200 the process may exit, and
                // the test reads the queue right after.
                Requests.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        }
    }
}
