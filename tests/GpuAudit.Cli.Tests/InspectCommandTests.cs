using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using GpuAudit.Tests;

namespace GpuAudit.Cli.Tests;

/// <summary>
/// <c>gpuaudit inspect</c> on live processes this test starts: a fake miner connected to a local
/// "pool" on port 3333, and a real ssh client opening a reverse tunnel to a listener that never answers.
/// </summary>
public sealed class InspectCommandTests
{
    private static readonly TimeSpan ConnectWait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Miner_connection_and_stratum_marker_are_reported_and_its_credentials_never_printed()
    {
        using var pool = new TcpListener(IPAddress.Loopback, 3333);
        pool.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        pool.Start();

        // bash keeps running (read is a builtin) with the pool URL in its argv and the socket on fd 3.
        using var miner = Start("/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3333 && read -r -t 120 line <&3", "miner", "stratum+tcp://wallet123:s3cr3tpw@127.0.0.1:3333");
        try
        {
            using var accepted = await Accept(pool);

            var result = GpuAuditProcess.Run("inspect", "--pid", miner.Id.ToString(CultureInfo.InvariantCulture), "--json");

            Assert.Equal(0, result.ExitCode);
            using var json = JsonDocument.Parse(result.Stdout);
            var connection = Assert.Single(json.RootElement.GetProperty("connections").EnumerateArray());
            Assert.Equal(3333, connection.GetProperty("remote_port").GetInt32());
            Assert.Equal("127.0.0.1", connection.GetProperty("remote_address").GetString());
            Assert.True(connection.GetProperty("pool_port").GetBoolean());
            var findings = json.RootElement.GetProperty("findings").EnumerateArray().Select(f => (f.GetProperty("kind").GetString(), f.GetProperty("detail").GetString())).ToList();
            Assert.Contains(findings, f => f.Item1 == "miner_cmdline" && f.Item2!.Contains("stratum+tcp://", StringComparison.Ordinal));
            Assert.Contains(findings, f => f.Item1 == "pool_port_connection" && f.Item2!.Contains("127.0.0.1:3333", StringComparison.Ordinal));
            Assert.Contains("stratum+tcp://***@127.0.0.1:3333", json.RootElement.GetProperty("cmdline").GetString(), StringComparison.Ordinal);
            foreach (var secret in (string[])["wallet123", "s3cr3tpw"])
            {
                Assert.DoesNotContain(secret, result.Stdout, StringComparison.Ordinal);
                Assert.DoesNotContain(secret, result.Stderr, StringComparison.Ordinal);
            }
        }
        finally
        {
            miner.Kill();
        }
    }

    [ToolFact("ssh")]
    [Trait("Category", "Integration")]
    public async Task Real_ssh_reverse_tunnel_is_reported_with_its_outbound_connection()
    {
        var ssh = GpuAuditProcess.Which("ssh")
            ?? throw new InvalidOperationException("this test needs a real ssh client: install the Debian package openssh-client (apt-get install -y openssh-client)");
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

        // The listener accepts and never answers: ssh waits for the server banner forever.
        using var tunnel = Start(ssh, "-N", "-R", "9000:localhost:22", "-p", port, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "user@127.0.0.1");
        try
        {
            using var accepted = await Accept(server);

            var result = GpuAuditProcess.Run("inspect", "--pid", tunnel.Id.ToString(CultureInfo.InvariantCulture), "--json", "--no-memory-scan");

            Assert.Equal(0, result.ExitCode);
            using var json = JsonDocument.Parse(result.Stdout);
            var tunnels = json.RootElement.GetProperty("findings").EnumerateArray().Where(f => f.GetProperty("kind").GetString() == "tunnel").ToList();
            Assert.Equal("ssh -R 9000:localhost:22", Assert.Single(tunnels).GetProperty("detail").GetString());
            var connection = Assert.Single(json.RootElement.GetProperty("connections").EnumerateArray());
            Assert.Equal(port, connection.GetProperty("remote_port").GetInt32().ToString(CultureInfo.InvariantCulture));
            Assert.Equal(tunnel.Id, connection.GetProperty("pid").GetInt32());
        }
        finally
        {
            tunnel.Kill();
        }
    }

    [Fact]
    public void Missing_pid_is_bad_input_with_exit_code_2()
    {
        var result = GpuAuditProcess.Run("inspect", "--pid", "2147483647");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("gpuaudit: no process with pid 2147483647 under /proc", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public void Bad_allowlist_network_is_bad_input_with_exit_code_2()
    {
        var result = GpuAuditProcess.Run("inspect", "--pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "--allow-net", "10.0.0.0/99");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--allow-net: '10.0.0.0/99' is not a network in CIDR form", result.Stderr, StringComparison.Ordinal);
    }

    private static Process Start(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    // Accepting proves the client's connection is established before it is inspected.
    private static async Task<TcpClient> Accept(TcpListener listener)
    {
        using var timeout = new CancellationTokenSource(ConnectWait);
        try
        {
            return await listener.AcceptTcpClientAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException("the client process did not connect to " + listener.LocalEndpoint + " within " + ConnectWait);
        }
    }
}
