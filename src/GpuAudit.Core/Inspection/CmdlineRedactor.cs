using System.Text;
using System.Text.RegularExpressions;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// Removes secrets from a command line before it is shown, stored or exported: credentials in
/// URLs (the user part too, since for pools it is the wallet), values of password/token/key
/// options, and the pool user/password options of miners. Scheme and host stay, so the stratum
/// marker and the pool address remain visible as evidence.
/// </summary>
public static partial class CmdlineRedactor
{
    public const string Mask = "***";

    // Option names whose value is a secret wherever they appear.
    private static readonly string[] SecretWords = ["pass", "pwd", "token", "secret", "key", "credential", "auth", "wallet", "cookie"];

    // Pool login options of miners: only treated as secrets when the line is a miner's.
    private static readonly string[] PoolLoginOptions = ["-u", "--user", "-p", "--pass", "-O", "--userpass", "-w", "--wallet"];

    /// <summary>Redacts an argv (the NUL-separated /proc/PID/cmdline) and joins it with spaces.</summary>
    public static string Redact(IReadOnlyList<string> argv)
    {
        var minerLine = argv.Any(a => a.Contains("stratum", StringComparison.OrdinalIgnoreCase))
            || (argv.Count > 0 && MinerSignatures.IsMinerExecutable(argv[0]));
        var output = new StringBuilder();
        var maskNext = false;
        for (var i = 0; i < argv.Count; i++)
        {
            string redacted;
            if (maskNext && !argv[i].StartsWith("--", StringComparison.Ordinal))
            {
                redacted = Mask;
                maskNext = false;
            }
            else
            {
                redacted = RedactArgument(argv[i], minerLine, out maskNext);
            }

            if (i > 0)
            {
                output.Append(' ');
            }

            output.Append(redacted);
        }

        return output.ToString();
    }

    /// <summary>Redacts a command line already joined with spaces (a trace's <c>cmdline</c>).</summary>
    public static string Redact(string cmdline) => Redact(cmdline.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Redacts one argument; <paramref name="valueFollows"/> says the next one is this option's secret value.</summary>
    private static string RedactArgument(string arg, bool minerLine, out bool valueFollows)
    {
        valueFollows = false;
        var text = UrlCredentials().Replace(arg, "${scheme}" + Mask + "@");
        if (text.StartsWith('-'))
        {
            var eq = text.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? text : text[..eq];
            var secret = IsSecretOptionName(name) || (minerLine && PoolLoginOptions.Contains(name, StringComparer.Ordinal));
            if (!secret)
            {
                return text;
            }

            if (eq >= 0)
            {
                return name + "=" + Mask;
            }

            valueFollows = true;
            return text;
        }

        // NAME=VALUE arguments (env-style, or `env TOKEN=...`): mask values of secret names.
        var assign = text.IndexOf('=', StringComparison.Ordinal);
        if (assign > 0 && !text.Contains("://", StringComparison.Ordinal) && IsSecretOptionName(text[..assign]))
        {
            return text[..assign] + "=" + Mask;
        }

        return text;
    }

    private static bool IsSecretOptionName(string name)
    {
        var bare = name.TrimStart('-');
        if (bare.Length < 3)
        {
            return false;
        }

        foreach (var word in SecretWords)
        {
            if (bare.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // scheme://user[:password]@ → scheme://***@ : for pools the user part is the wallet/account.
    [GeneratedRegex(@"(?<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")]
    private static partial Regex UrlCredentials();
}
