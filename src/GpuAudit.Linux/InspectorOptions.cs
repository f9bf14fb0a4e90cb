using System.Net;

namespace GpuAudit.Linux;

/// <summary>How the inspector judges a process's network use and names its user.</summary>
public sealed record InspectorOptions
{
    /// <summary>Ports pools commonly listen on (weak alone: pools also use 443 and arbitrary ports).</summary>
    public static readonly IReadOnlySet<int> DefaultPoolPorts = new HashSet<int> { 3333, 4444, 5555, 7777, 8888, 9999, 14444, 45700 };

    /// <summary>Networks outbound connections may go to; empty: no allowlist, nothing flagged as outside it.</summary>
    public IReadOnlyList<IPNetwork> EgressAllowlist { get; init; } = [];

    public IReadOnlySet<int> PoolPorts { get; init; } = DefaultPoolPorts;

    public string PasswdPath { get; init; } = PasswdFile.DefaultPath;

    /// <summary>Environment variables recorded as the process's run context (<c>--context-env</c>, <see cref="Core.Inspection.RunContext"/>).</summary>
    public IReadOnlyList<string> ContextEnv { get; init; } = [];

    /// <summary>Parses CIDRs ("10.0.0.0/8", "fd00::/8"); a bad one names itself in the exception message.</summary>
    public static IReadOnlyList<IPNetwork> ParseAllowlist(IEnumerable<string> cidrs)
    {
        var networks = new List<IPNetwork>();
        foreach (var cidr in cidrs)
        {
            if (!IPNetwork.TryParse(cidr, out var network))
            {
                throw new FormatException("'" + cidr + "' is not a network in CIDR form (for example 10.0.0.0/8 or fd00::/8)");
            }

            networks.Add(network);
        }

        return networks;
    }
}
