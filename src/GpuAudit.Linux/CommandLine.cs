using System.Globalization;
using GpuAudit.Core.Inspection;

namespace GpuAudit.Linux;

/// <summary>
/// A process's argv as read from /proc/PID/cmdline: at most <see cref="ProcFileSystem.MaxCommandLineBytes"/>
/// of it (one argument alone may be 128 KiB, all of them several MiB). When the read stopped at the
/// cap, the last argument is cut: it is kept for the miner and tunnel rules, never shown.
/// </summary>
public sealed record CommandLine(IReadOnlyList<string> Argv, bool Truncated)
{
    public static CommandLine Empty { get; } = new([], false);

    /// <summary>The NUL-separated text of /proc/PID/cmdline (empty arguments dropped).</summary>
    public static CommandLine Parse(string? raw, bool truncated) =>
        raw is null ? Empty : new CommandLine(raw.Split('\0', StringSplitOptions.RemoveEmptyEntries), truncated);

    /// <summary>The redacted line for display and storage, or null for a kernel thread.</summary>
    public string? Redacted(bool minerContext = false)
    {
        if (Argv.Count == 0)
        {
            return null;
        }

        if (!Truncated)
        {
            return SecretRedactor.Redact(Argv, minerContext);
        }

        // The cut argument could end inside a secret that no longer has a recognisable shape: dropped.
        var marker = "…[command line longer than " + (ProcFileSystem.MaxCommandLineBytes / 1024).ToString(CultureInfo.InvariantCulture) + " KiB; the rest was not read]";
        return Argv.Count == 1 ? marker : SecretRedactor.Redact(Argv.Take(Argv.Count - 1).ToList(), minerContext || SecretRedactor.IsMinerCommandLine(Argv)) + " " + marker;
    }
}
