using System.Net;
using Microsoft.AspNetCore.Connections;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// Connection middleware (before TLS and HTTP) that closes a new connection at once when the
/// server or its client address already holds its share, so a flood of idle connections costs
/// the agent no file descriptor beyond the limits. Rejections are counted by reason.
/// </summary>
internal sealed class ConnectionLimiter(MetricsServerLimits limits, Action<string> rejected)
{
    private readonly Dictionary<IPAddress, int> _perClient = [];
    private readonly Lock _gate = new();
    private int _total;

    public Func<ConnectionDelegate, ConnectionDelegate> Middleware => next => async connection =>
    {
        var client = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: one client, one address.
        client = client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client;
        if (TryEnter(client) is { } reason)
        {
            rejected(reason);
            connection.Abort();
            return;
        }

        try
        {
            await next(connection);
        }
        finally
        {
            Exit(client);
        }
    };

    /// <summary>Null when the connection may proceed, else the reason it may not.</summary>
    private string? TryEnter(IPAddress client)
    {
        lock (_gate)
        {
            if (_total >= limits.MaxConnections)
            {
                return "connection_limit";
            }

            _perClient.TryGetValue(client, out var count);
            if (count >= limits.MaxConnectionsPerClient)
            {
                return "client_connection_limit";
            }

            _perClient[client] = count + 1;
            _total++;
            return null;
        }
    }

    private void Exit(IPAddress client)
    {
        lock (_gate)
        {
            _total--;
            if (_perClient[client] == 1)
            {
                _perClient.Remove(client);
            }
            else
            {
                _perClient[client]--;
            }
        }
    }
}
