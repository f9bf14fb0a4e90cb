using System.Collections.Frozen;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// What the redactor treats as secret: option and key names, the short flags of well-known programs
/// that take a password, the pool login options of miners, HTTP authorization schemes and the
/// prefixes of issued tokens.
/// </summary>
internal static class SecretVocabulary
{
    // A name containing one of these (case-insensitive) holds a secret value.
    private static readonly string[] SecretWords =
    [
        "pass", "pwd", "token", "secret", "key", "credential", "auth", "wallet", "cookie", "signature", "private", "session",
    ];

    // Whole names too short or too common to match as parts of other names.
    private static readonly FrozenSet<string> SecretExactNames = new[] { "pw", "sig", "otp", "sas" }
        .ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    // Pool login options, secret only on a miner's command line (elsewhere -u, -p and --user mean other things).
    private static readonly FrozenSet<string> PoolLoginOptions = new[] { "-u", "--user", "-p", "--pass", "-O", "--userpass", "-w", "--wallet", "--login", "--rig-id" }
        .ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> AuthSchemes = new[] { "bearer", "basic", "digest", "token", "bot", "negotiate", "ntlm", "apikey", "aws4-hmac-sha256" }
        .ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    // Programs whose short flags take a password or user:password (value attached or in the next argument).
    private static readonly FrozenDictionary<string, string> SecretShortFlags = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["sshpass"] = "p",
        ["mysql"] = "p",
        ["mysqldump"] = "p",
        ["mysqladmin"] = "p",
        ["mysqlimport"] = "p",
        ["mysqlcheck"] = "p",
        ["mysqlshow"] = "p",
        ["mariadb"] = "p",
        ["mariadb-dump"] = "p",
        ["curl"] = "+uUE",
        ["redis-cli"] = "a",
        ["openssl"] = "k",
        ["zip"] = "P",
        ["unzip"] = "P",
        ["7z"] = "p",
        ["7za"] = "p",
        ["7zr"] = "p",
        ["rar"] = "p",
        ["unrar"] = "p",
        ["smbclient"] = "U",
        ["docker"] = "p",
        ["podman"] = "p",
        ["nerdctl"] = "p",
        ["helm"] = "p",
        ["skopeo"] = "p",
        ["sqlcmd"] = "P",
        ["bcp"] = "P",
        ["ldapsearch"] = "w",
        ["ldapmodify"] = "w",
        ["ldapadd"] = "w",
        ["ldapdelete"] = "w",
        ["mosquitto_pub"] = "P",
        ["mosquitto_sub"] = "P",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    // Long options of those programs whose value is user:password.
    private static readonly FrozenSet<string> SecretUserOptions = new[] { "--user", "--proxy-user" }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> SshPrograms = new[] { "ssh", "autossh", "scp", "sftp" }
        .ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>Prefixes of issued tokens and the least number of characters that follow them.</summary>
    public static readonly (string Prefix, int MinTail)[] TokenPrefixes =
    [
        ("ghp_", 30), ("gho_", 30), ("ghu_", 30), ("ghs_", 30), ("ghr_", 30), ("github_pat_", 20),
        ("glpat-", 20), ("glsa_", 20), ("xoxb-", 10), ("xoxp-", 10), ("xoxa-", 10), ("xoxr-", 10), ("xoxs-", 10),
        ("hf_", 30), ("sk-", 20), ("sk_live_", 16), ("sk_test_", 16), ("rk_live_", 16), ("AIza", 30), ("npm_", 30),
        ("pypi-", 40), ("dop_v1_", 40), ("AKIA", 16), ("ASIA", 16),
    ];

    /// <summary>True when an option, variable, header or JSON key of this name holds a secret.</summary>
    public static bool IsSecretName(ReadOnlySpan<char> name)
    {
        name = name.TrimStart("-'\"\\").TrimEnd("'\"\\");
        if (name.Length < 2)
        {
            return false;
        }

        foreach (var word in SecretWords)
        {
            if (name.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return SecretExactNames.GetAlternateLookup<ReadOnlySpan<char>>().Contains(name);
    }

    public static bool IsPoolLoginOption(ReadOnlySpan<char> option) => PoolLoginOptions.GetAlternateLookup<ReadOnlySpan<char>>().Contains(option);

    public static bool IsAuthScheme(ReadOnlySpan<char> word) => AuthSchemes.GetAlternateLookup<ReadOnlySpan<char>>().Contains(word);

    public static bool IsSecretUserOption(ReadOnlySpan<char> option) => SecretUserOptions.GetAlternateLookup<ReadOnlySpan<char>>().Contains(option);

    /// <summary>The secret short flags of the program named by <paramref name="word"/> (a path or a name), or null.</summary>
    public static ProgramKind Program(ReadOnlySpan<char> word, out string? shortFlags)
    {
        shortFlags = null;
        var slash = word.LastIndexOf('/');
        var name = slash >= 0 ? word[(slash + 1)..] : word;
        if (name.IsEmpty || name.Length > 32)
        {
            return ProgramKind.None;
        }

        if (SshPrograms.GetAlternateLookup<ReadOnlySpan<char>>().Contains(name))
        {
            return ProgramKind.Ssh;
        }

        return SecretShortFlags.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out shortFlags) ? ProgramKind.WithSecretFlags : ProgramKind.None;
    }
}

/// <summary>How the redactor reads the options of a program.</summary>
internal enum ProgramKind
{
    None,
    WithSecretFlags,
    Ssh,
}
