namespace GpuAudit.Core.Inspection;

/// <summary>
/// The run a GPU process belongs to, from the environment variables an operator names with
/// <c>--context-env</c> (an RL run or episode id, an experiment name): recorded with every
/// violation of the process, so a violation names the run that caused it. The environment is
/// the process's own text: each entry is redacted like a command line (a variable named like a
/// secret, or a value shaped like a token, is masked), bounded in length and number, and read in
/// one linear pass over an environ the bounded procfs reader has already capped.
/// </summary>
public static class RunContext
{
    /// <summary>Most variables an operator may name.</summary>
    public const int MaxNames = 16;

    /// <summary>A value longer than this is cut (after redaction) and marked with "…".</summary>
    public const int MaxValueChars = 128;

    /// <summary>
    /// Validates the names of <c>--context-env</c> (comma-separated, repeatable): shell variable
    /// names, at most <see cref="MaxNames"/>. Throws <see cref="UserInputException"/> naming the bad one.
    /// </summary>
    public static IReadOnlyList<string> ParseNames(IEnumerable<string> values)
    {
        var names = new List<string>();
        foreach (var value in values)
        {
            foreach (var name in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!IsName(name))
                {
                    throw new UserInputException($"--context-env: \"{name}\" is not an environment variable name (letters, digits and _, not starting with a digit)");
                }

                if (!names.Contains(name))
                {
                    names.Add(name);
                }
            }
        }

        return names.Count <= MaxNames
            ? names
            : throw new UserInputException($"--context-env names {names.Count} variables; at most {MaxNames}");
    }

    /// <summary>
    /// The named variables of a NUL-separated environ, in the order of <paramref name="names"/>, as
    /// redacted <c>NAME=value</c> entries; variables the process does not have are left out.
    /// </summary>
    public static IReadOnlyList<string> Capture(string? environ, IReadOnlyList<string> names)
    {
        if (names.Count == 0 || string.IsNullOrEmpty(environ))
        {
            return [];
        }

        var values = new string?[names.Count];
        var found = 0;
        var span = environ.AsSpan();
        while (!span.IsEmpty)
        {
            var end = span.IndexOf('\0');
            var entry = end < 0 ? span : span[..end];
            span = end < 0 ? [] : span[(end + 1)..];
            var equals = entry.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }

            var key = entry[..equals];
            for (var i = 0; i < names.Count; i++)
            {
                // The first definition wins, as getenv() returns it.
                if (values[i] is null && key.SequenceEqual(names[i]))
                {
                    values[i] = entry[(equals + 1)..].ToString();
                    found++;
                    break;
                }
            }
        }

        if (found == 0)
        {
            return [];
        }

        var context = new List<string>(found);
        for (var i = 0; i < names.Count; i++)
        {
            if (values[i] is { } value)
            {
                context.Add(Entry(names[i], value));
            }
        }

        return context;
    }

    /// <summary>One redacted entry: the redactor sees <c>NAME=value</c>, so a secret-named variable is masked.</summary>
    public static string Entry(string name, string value)
    {
        var redacted = SecretRedactor.RedactText(name + "=" + value.ReplaceLineEndings(" "));
        var limit = name.Length + 1 + MaxValueChars;
        return redacted.Length <= limit ? redacted : redacted[..limit] + "…";
    }

    private static bool IsName(string name)
    {
        if (name.Length is 0 or > 128 || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}
