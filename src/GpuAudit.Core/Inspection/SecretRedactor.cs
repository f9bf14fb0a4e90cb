namespace GpuAudit.Core.Inspection;

/// <summary>
/// The one redactor: every string that came from a watched process (command lines, paths, cgroup
/// text, kernel and library names) and every line the agent writes from them (inspect output,
/// traces, journal, reports, OTLP, logs, evidence) goes through it. It removes credentials in URLs
/// (the user part too: for pools it is the wallet), values of secret-named options in every syntax
/// (<c>--k=v</c>, <c>--k v</c>, <c>-kV</c> and <c>-k V</c> for a program's known short flags,
/// <c>-Dk=v</c>, <c>K=V</c>, <c>"k": "v"</c>, <c>k: v</c>), HTTP authorization headers, query-string
/// tokens, token shapes (AWS, GitHub, GitLab, Slack, Hugging Face, OpenAI, Google, npm, PyPI, JWT,
/// PEM blocks), wallet addresses (Ethereum, Bitcoin, Litecoin, Ravencoin, Monero...) and ssh's
/// secrets (<c>ProxyCommand</c>, <c>-J user@</c>, <c>-l</c>, the destination's user).
/// Schemes, hosts and option names stay, so the evidence (a stratum URL, a pool address, an ssh
/// forward) remains readable.
/// <para>
/// Hostile input: every rule is a forward scan with bounded look-ahead, so the cost is linear in the
/// text (no regular expressions, no backtracking). Redacting twice gives the same text.
/// </para>
/// </summary>
public static class SecretRedactor
{
    public const string Mask = "***";

    /// <summary>A redacted command-line argument longer than this is shortened for display (after redaction).</summary>
    public const int MaxArgumentChars = 256;

    /// <summary>Redacts an argv (the NUL-separated /proc/PID/cmdline) and joins it with spaces.</summary>
    /// <param name="argv">The arguments, argv[0] first.</param>
    /// <param name="minerContext">
    /// Treat the pool login options (<c>-u</c>, <c>-p</c>, <c>--user</c>...) as secrets even when this
    /// line alone does not look like a miner's (a wrapper script of a miner in the same tree).
    /// </param>
    public static string Redact(IReadOnlyList<string> argv, bool minerContext = false)
    {
        var redactor = new SecretTokenRedactor(minerContext || IsMinerCommandLine(argv), depth: 0);
        return redactor.RedactArgv(argv);
    }

    /// <summary>
    /// Redacts free text: a command line already joined with spaces (a trace's <c>cmdline</c>), an
    /// evidence line, a path, cgroup text. Whitespace and everything not secret are kept as they are.
    /// </summary>
    public static string RedactText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return text;
        }

        var redacted = new SecretTokenRedactor(IsMinerText(text), depth: 0).RedactText(text);
        return redacted.Equals(text, StringComparison.Ordinal) ? text : redacted;
    }

    /// <summary><see cref="RedactText(string)"/>, passing null through.</summary>
    public static string? RedactOrNull(string? text) => text is null ? null : RedactText(text);

    /// <summary>Each line redacted (evidence lists).</summary>
    public static IReadOnlyList<string> RedactLines(IReadOnlyList<string> lines)
    {
        string[]? copy = null;
        for (var i = 0; i < lines.Count; i++)
        {
            var redacted = RedactText(lines[i]);
            if (!ReferenceEquals(redacted, lines[i]))
            {
                copy ??= [.. lines];
                copy[i] = redacted;
            }
        }

        return copy ?? lines;
    }

    /// <summary>A miner's command line: a stratum URL or a known miner executable as argv[0].</summary>
    public static bool IsMinerCommandLine(IReadOnlyList<string> argv)
    {
        if (argv.Count > 0 && MinerSignatures.IsMinerExecutable(argv[0]))
        {
            return true;
        }

        foreach (var arg in argv)
        {
            if (arg.Contains("stratum", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The redacted value of an ssh option that takes an argument (for tunnel descriptions).</summary>
    internal static string RedactSshValue(char flag, string value) => SecretTokenRedactor.SshValue(flag, value);

    private static bool IsMinerText(string text)
    {
        if (text.Contains("stratum", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var end = text.AsSpan().IndexOfAny(' ', '\t', '\n');
        return MinerSignatures.IsMinerExecutable(end < 0 ? text : text[..end]);
    }
}
