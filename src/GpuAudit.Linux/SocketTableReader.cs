using System.Globalization;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Linux;

/// <summary>
/// Finds a process's TCP sockets: its <c>fd/*</c> links name socket inodes, matched against
/// <c>/proc/PID/net/tcp</c> and <c>tcp6</c> (read through the pid, so a container's network
/// namespace is the one seen).
/// </summary>
public sealed class SocketTableReader(ProcFileSystem proc)
{
    private const string SocketLinkPrefix = "socket:[";

    /// <summary>Socket inodes the process holds open.</summary>
    public HashSet<ulong> SocketInodes(int pid, ICollection<string> unreadable)
    {
        var inodes = new HashSet<ulong>();
        foreach (var fd in proc.List(pid, "fd", unreadable))
        {
            var target = proc.ReadLink(pid, Path.Combine("fd", fd), unreadable);
            if (target is not null && target.StartsWith(SocketLinkPrefix, StringComparison.Ordinal) && target.EndsWith(']')
                && ulong.TryParse(target.AsSpan(SocketLinkPrefix.Length, target.Length - SocketLinkPrefix.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var inode))
            {
                inodes.Add(inode);
            }
        }

        return inodes;
    }

    /// <summary>The TCP table (v4 and v6) of the network namespace <paramref name="pid"/> lives in.</summary>
    public IReadOnlyList<TcpSocket> Table(int pid, ICollection<string> unreadable)
    {
        var rows = new List<TcpSocket>();
        foreach (var name in (string[])["net/tcp", "net/tcp6"])
        {
            if (proc.ReadText(pid, name, unreadable) is { } text)
            {
                rows.AddRange(TcpSocket.ParseTable(text));
            }
        }

        return rows;
    }
}
