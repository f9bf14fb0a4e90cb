namespace GpuAudit.Core.Inspection;

/// <summary>
/// Recognises tunnel tools and ssh port forwarding in an argv: what a job needs to open a way in
/// or out past the perimeter (the reverse SSH tunnel of the motivating incident).
/// </summary>
public static class TunnelSignatures
{
    private static readonly string[] TunnelTools = ["autossh", "chisel", "ngrok", "sshuttle", "frpc", "frps", "cloudflared", "bore", "iodine", "ligolo"];

    // ssh flags that forward ports or networks; -J jumps through another host.
    private const string SshForwardFlags = "RLDwJ";

    // ssh flags that take an argument (the rest of the token, or the next token).
    private const string SshFlagsWithArgument = "BbcDEeFIiJLlmOoPpQRSWw";

    private static readonly string[] SshForwardOptions = ["remoteforward", "localforward", "dynamicforward", "proxycommand", "tunnel"];

    /// <summary>A readable description of the tunnel this argv opens, or null when it opens none.</summary>
    public static string? Describe(IReadOnlyList<string> argv)
    {
        if (argv.Count == 0)
        {
            return null;
        }

        var tool = Path.GetFileName(argv[0]);
        foreach (var known in TunnelTools)
        {
            if (tool.Equals(known, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }

        if (tool.Equals("socat", StringComparison.OrdinalIgnoreCase))
        {
            return argv.Any(a => a.Contains("-LISTEN", StringComparison.OrdinalIgnoreCase)) ? "socat listener" : null;
        }

        return tool.Equals("ssh", StringComparison.OrdinalIgnoreCase) ? DescribeSsh(argv) : null;
    }

    private static string? DescribeSsh(IReadOnlyList<string> argv)
    {
        var forwards = new List<string>();
        string? port = null;
        for (var i = 1; i < argv.Count; i++)
        {
            var arg = argv[i];
            if (arg.Length < 2 || arg[0] != '-' || arg == "--")
            {
                continue;
            }

            // Flags combine ("-fNR 9000:localhost:22"): walk them until one takes an argument.
            for (var c = 1; c < arg.Length; c++)
            {
                var flag = arg[c];
                if (!SshFlagsWithArgument.Contains(flag, StringComparison.Ordinal))
                {
                    continue;
                }

                var value = c + 1 < arg.Length ? arg[(c + 1)..] : (i + 1 < argv.Count ? argv[++i] : string.Empty);
                // The description is evidence that is stored and exported: values are redacted
                // (ProxyCommand=sshpass -p SECRET, -J token@host) while the forward itself stays.
                if (SshForwardFlags.Contains(flag, StringComparison.Ordinal))
                {
                    forwards.Add("-" + flag + " " + SecretRedactor.RedactSshValue(flag, value));
                }
                else if (flag == 'o' && SshForwardOptions.Any(o => value.StartsWith(o, StringComparison.OrdinalIgnoreCase)))
                {
                    forwards.Add("-o " + SecretRedactor.RedactSshValue(flag, value));
                }
                else if (flag == 'p')
                {
                    port = value;
                }

                break;
            }
        }

        if (forwards.Count > 0)
        {
            return "ssh " + string.Join(' ', forwards);
        }

        return port is not null && port != "22" ? "ssh to port " + SecretRedactor.RedactText(port) : null;
    }
}
