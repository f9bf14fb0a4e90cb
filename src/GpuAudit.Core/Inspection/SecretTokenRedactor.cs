using System.Buffers;
using System.Globalization;
using System.Text;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// The redactor's state across the tokens of one command line (argv elements, or the
/// whitespace-separated words of free text, quotes respected): which program's flags apply, whether
/// the next token is a secret value, whether a PEM block is open, where ssh's destination is. An
/// argument or quoted word that holds a whole command (<c>bash -c "..."</c>, ssh's remote command)
/// is redacted as text with its own state, at most <see cref="MaxDepth"/> levels deep.
/// </summary>
internal sealed class SecretTokenRedactor(bool minerContext, int depth)
{
    private const int MaxDepth = 3;
    private const int MaxPemLabelTokens = 6;

    // ssh flags that take an argument (the rest of the token, or the next token).
    private const string SshFlagsWithArgument = "BbcDEeFIiJLlmOoPpQRSWw";

    private static readonly SearchValues<char> PemLabelChars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -");

    private readonly StringBuilder _output = new();
    private readonly List<(int Start, int End)> _masks = [];
    private Pending _pending;
    private char _pendingSshFlag;
    private ProgramKind _program;
    private string? _shortFlags;
    private bool _sshDestinationSeen;
    private Pem _pem;
    private int _pemLabelTokens;
    private bool _pemBodyMasked;

    private enum Pending
    {
        None,

        // The next token is an option's value ("--token abc"); an option starting with "--" is not taken.
        OptionValue,

        // The next token is a value; when it is an auth scheme ("Authorization: Bearer x") the one after it is.
        ValueAfterScheme,

        // The next token is the argument of an ssh flag.
        SshArgument,
    }

    private enum Pem
    {
        None,
        BeginLabel,
        Body,
        EndLabel,
    }

    public string RedactArgv(IReadOnlyList<string> argv)
    {
        for (var i = 0; i < argv.Count; i++)
        {
            var before = _output.Length;
            if (i > 0)
            {
                _output.Append(' ');
            }

            var start = _output.Length;
            Token(argv[i], isArgument: true);
            if (_output.Length == start)
            {
                // A token that emits nothing (inside a PEM body) takes its separator with it.
                _output.Length = before;
            }
            else
            {
                Shorten(start);
            }
        }

        return _output.ToString();
    }

    /// <summary>Redacts free text word by word, keeping the whitespace between words as it is.</summary>
    /// <param name="text">The text.</param>
    /// <param name="quoteAware">Words run to the next whitespace outside quotes (shell style); else to the next whitespace.</param>
    public string RedactText(string text, bool quoteAware = true)
    {
        var i = 0;
        while (i < text.Length)
        {
            var spaceStart = i;
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var tokenStart = i;
            i = quoteAware ? TokenEnd(text, i) : WordEnd(text, i);
            if (tokenStart == i)
            {
                _output.Append(text.AsSpan(spaceStart, i - spaceStart));
                break;
            }

            var mark = _output.Length;
            _output.Append(text.AsSpan(spaceStart, tokenStart - spaceStart));
            var start = _output.Length;
            Token(text.AsSpan(tokenStart, i - tokenStart), isArgument: false);
            if (_output.Length == start && spaceStart > 0)
            {
                // A word that emits nothing (inside a PEM body) takes its separator with it.
                _output.Length = mark;
            }
        }

        return _output.ToString();
    }

    /// <summary>The redacted value of an ssh flag's argument.</summary>
    public static string SshValue(char flag, ReadOnlySpan<char> value)
    {
        var redactor = new SecretTokenRedactor(minerContext: false, depth: 1);
        redactor.AppendSshValue(flag, value);
        return redactor._output.ToString();
    }

    // The end of a word: the next whitespace outside quotes. A quote with no closing match is an
    // ordinary character (so one stray quote cannot hide the rest of the text from the token rules);
    // each failed search means no later quote of that kind exists, so the scan stays linear.
    private static int TokenEnd(string text, int i)
    {
        var noCloseAfter = (Single: -1, Double: -1);
        while (i < text.Length && !char.IsWhiteSpace(text[i]))
        {
            var c = text[i];
            if (c is '\'' or '"' && (c == '\'' ? noCloseAfter.Single : noCloseAfter.Double) < 0)
            {
                var close = text.IndexOf(c, i + 1);
                if (close > 0)
                {
                    i = close + 1;
                    continue;
                }

                if (c == '\'')
                {
                    noCloseAfter.Single = i;
                }
                else
                {
                    noCloseAfter.Double = i;
                }
            }

            i++;
        }

        return i;
    }

    private static int WordEnd(string text, int i)
    {
        while (i < text.Length && !char.IsWhiteSpace(text[i]))
        {
            i++;
        }

        return i;
    }

    private static bool HasWhitespace(ReadOnlySpan<char> token)
    {
        foreach (var c in token)
        {
            if (char.IsWhiteSpace(c))
            {
                return true;
            }
        }

        return false;
    }

    private static ReadOnlySpan<char> Unquoted(ReadOnlySpan<char> token) =>
        token.Length >= 2 && token[0] is '"' or '\'' && token[^1] == token[0] ? token[1..^1] : token;

    private void Token(ReadOnlySpan<char> token, bool isArgument)
    {
        if (_pem != Pem.None)
        {
            PemToken(token);
            return;
        }

        switch (_pending)
        {
            case Pending.SshArgument:
                _pending = Pending.None;
                AppendSshValue(_pendingSshFlag, token);
                return;
            case Pending.ValueAfterScheme when SecretVocabulary.IsAuthScheme(Unquoted(token)):
                _output.Append(token);
                _pending = Pending.OptionValue;
                return;
            case Pending.OptionValue when token.StartsWith("--", StringComparison.Ordinal):
                _pending = Pending.None;
                break;
            case Pending.OptionValue or Pending.ValueAfterScheme:
                _pending = Pending.None;
                AppendMasked(token);
                return;
        }

        if (HasWhitespace(token) && depth < MaxDepth)
        {
            Nested(token, isArgument);
            return;
        }

        if (token.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            PemToken(token);
            return;
        }

        if (token.Length >= 2 && token[0] == '-' && token != "--" && !char.IsAsciiDigit(token[1]))
        {
            Option(token);
        }
        else
        {
            Positional(token);
        }
    }

    // A whole command inside one token: an argument such as bash -c's, or a quoted span of text. A
    // word of text that holds whitespace without being one quoted span (a stray quote joined words) is
    // split again at every whitespace, so a quote cannot hide options from the token rules.
    private void Nested(ReadOnlySpan<char> token, bool isArgument)
    {
        var quoted = !isArgument && token.Length >= 2 && token[0] is '"' or '\'' && token[^1] == token[0];
        var inner = quoted ? token[1..^1] : token;
        var nested = new SecretTokenRedactor(minerContext, depth + 1).RedactText(inner.ToString(), quoteAware: isArgument || quoted);
        if (quoted)
        {
            _output.Append(token[0]).Append(nested).Append(token[^1]);
        }
        else
        {
            _output.Append(nested);
        }
    }

    private void Option(ReadOnlySpan<char> token)
    {
        if (_program == ProgramKind.Ssh)
        {
            SshOption(token);
            return;
        }

        var equals = token.IndexOf('=');
        var name = equals > 0 ? token[..equals] : token;
        var secretName = SecretVocabulary.IsSecretName(name)
            || (minerContext && SecretVocabulary.IsPoolLoginOption(name))
            || (_shortFlags is not null && SecretVocabulary.IsSecretUserOption(name));
        if (equals > 0)
        {
            if (secretName)
            {
                _output.Append(name).Append('=').Append(SecretRedactor.Mask);
            }
            else
            {
                Inline(token);
            }

            return;
        }

        var flag = secretName ? -1 : SecretShortFlag(token);
        if (secretName || flag == token.Length - 1)
        {
            _output.Append(token);
            _pending = Pending.OptionValue;
        }
        else if (flag > 0)
        {
            // -pSECRET, -suUSER:PASSWORD: the value is attached.
            _output.Append(token[..(flag + 1)]).Append(SecretRedactor.Mask);
        }
        else
        {
            Inline(token);
        }
    }

    /// <summary>
    /// Where in a short-option token a flag that takes a secret sits (-1 for none): the first letter,
    /// or for programs whose flags combine (curl's -sSu) any letter after other letters.
    /// </summary>
    private int SecretShortFlag(ReadOnlySpan<char> token)
    {
        if (token[1] == '-')
        {
            return -1;
        }

        var combine = _shortFlags is ['+', ..];
        for (var c = 1; c < token.Length && (c == 1 || combine); c++)
        {
            if (!char.IsAsciiLetter(token[c]))
            {
                return -1;
            }

            if ((_shortFlags is not null && _shortFlags.Contains(token[c], StringComparison.Ordinal))
                || (minerContext && token[c] is 'u' or 'p' or 'O' or 'w'))
            {
                return c;
            }
        }

        return -1;
    }

    private void Positional(ReadOnlySpan<char> token)
    {
        var bare = Unquoted(token);
        var program = SecretVocabulary.Program(bare, out var flags);
        if (program != ProgramKind.None)
        {
            _program = program;
            _shortFlags = flags;
            _sshDestinationSeen = false;
            Inline(token);
            return;
        }

        if (_program == ProgramKind.Ssh)
        {
            if (!_sshDestinationSeen)
            {
                _sshDestinationSeen = true;
                AppendSshDestination(token);
                return;
            }

            // The remote command: its own program's rules apply from here.
            _program = ProgramKind.None;
            _shortFlags = null;
        }

        if (bare.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            _output.Append(token);
            _pending = Pending.OptionValue;
            return;
        }

        Inline(token);
    }

    private void SshOption(ReadOnlySpan<char> token)
    {
        // Flags combine ("-fNR 9000:localhost:22", "-luser"): walk them until one takes an argument.
        for (var c = 1; c < token.Length; c++)
        {
            if (!SshFlagsWithArgument.Contains(token[c], StringComparison.Ordinal))
            {
                continue;
            }

            _output.Append(token[..(c + 1)]);
            if (c + 1 < token.Length)
            {
                AppendSshValue(token[c], token[(c + 1)..]);
            }
            else
            {
                _pending = Pending.SshArgument;
                _pendingSshFlag = token[c];
            }

            return;
        }

        _output.Append(token);
    }

    private void AppendSshValue(char flag, ReadOnlySpan<char> value)
    {
        switch (flag)
        {
            case 'l':
                AppendMasked(value);
                return;
            case 'J':
                AppendJumpHosts(value);
                return;
            case 'o':
                AppendSshConfigOption(value);
                return;
            default:
                Inline(value);
                return;
        }
    }

    // -o Key=Value or -o "Key Value": commands and the user go entirely, secret-named keys lose their value.
    private void AppendSshConfigOption(ReadOnlySpan<char> value)
    {
        var bare = Unquoted(value);
        var quote = bare.Length != value.Length ? value[..1] : [];
        var split = bare.IndexOfAny('=', ' ', '\t');
        if (split <= 0)
        {
            Inline(value);
            return;
        }

        var key = bare[..split].Trim();
        if (key.EndsWith("Command", StringComparison.OrdinalIgnoreCase) || key.Equals("User", StringComparison.OrdinalIgnoreCase) || SecretVocabulary.IsSecretName(key))
        {
            _output.Append(quote).Append(bare[..(split + 1)]).Append(SecretRedactor.Mask).Append(quote);
            var command = bare[(split + 1)..].TrimStart();
            if (!HasWhitespace(command) && SecretVocabulary.Program(command, out var flags) is var program and not ProgramKind.None)
            {
                // Text split a command's words apart ("ProxyCommand=sshpass -p x ..."): its rules apply to the words that follow.
                _program = program;
                _shortFlags = flags;
                _sshDestinationSeen = false;
            }
        }
        else if (key.Equals("ProxyJump", StringComparison.OrdinalIgnoreCase))
        {
            _output.Append(quote).Append(bare[..(split + 1)]);
            AppendJumpHosts(bare[(split + 1)..]);
            _output.Append(quote);
        }
        else
        {
            Inline(value);
        }
    }

    // -J [user@]host[:port][,...]: the users go (tunnel services take tokens as user names).
    private void AppendJumpHosts(ReadOnlySpan<char> value)
    {
        var first = true;
        foreach (var range in value.Split(','))
        {
            if (!first)
            {
                _output.Append(',');
            }

            first = false;
            AppendSshDestination(value[range]);
        }
    }

    private void AppendSshDestination(ReadOnlySpan<char> destination)
    {
        var at = destination.LastIndexOf('@');
        if (at > 0 && !destination.Contains("://", StringComparison.Ordinal))
        {
            var quote = destination[0] is '"' or '\'' ? destination[..1] : [];
            _output.Append(quote).Append(SecretRedactor.Mask);
            Inline(destination[at..]);
            return;
        }

        Inline(destination);
    }

    private void AppendMasked(ReadOnlySpan<char> token)
    {
        // Keep the quotes and closing punctuation around the value ("x"} → "***"}).
        var lead = 0;
        while (lead < token.Length && lead < 3 && token[lead] is '"' or '\'' or '\\')
        {
            lead++;
        }

        var tail = token.Length;
        if (lead > 0 && token[lead - 1] is '"' or '\'')
        {
            var close = token[lead..].IndexOf(token[lead - 1]);
            tail = close < 0 ? token.Length : lead + close;
        }

        _output.Append(token[..lead]).Append(SecretRedactor.Mask);
        if (tail < token.Length)
        {
            Inline(token[tail..]);
        }
    }

    private void Inline(ReadOnlySpan<char> token)
    {
        _masks.Clear();
        var found = SecretShapes.Find(token, _masks);
        SecretShapes.Emit(token, _masks, _output);
        if (found.ValueFollows)
        {
            _pending = found.SchemeMayFollow ? Pending.ValueAfterScheme : Pending.OptionValue;
        }
    }

    // -----BEGIN <label>----- <body> -----END <label>-----: the body goes, whatever it is split into.
    private void PemToken(ReadOnlySpan<char> token)
    {
        while (!token.IsEmpty)
        {
            switch (_pem)
            {
                case Pem.None:
                    var begin = token.IndexOf("-----BEGIN", StringComparison.Ordinal);
                    if (begin < 0)
                    {
                        Inline(token);
                        return;
                    }

                    Inline(token[..begin]);
                    _pending = Pending.None;
                    _output.Append("-----BEGIN");
                    token = token[(begin + 10)..];
                    _pem = Pem.BeginLabel;
                    _pemLabelTokens = 0;
                    _pemBodyMasked = false;
                    break;
                case Pem.BeginLabel or Pem.EndLabel:
                    var dashes = token.IndexOf("-----", StringComparison.Ordinal);
                    var labelEnd = dashes < 0 ? token.Length : dashes + 5;
                    if (token[..(dashes < 0 ? token.Length : dashes)].ContainsAnyExcept(PemLabelChars)
                        || ++_pemLabelTokens > MaxPemLabelTokens)
                    {
                        // Not a label: treat it as body (never let an unterminated header show what follows).
                        _pem = _pem == Pem.BeginLabel ? Pem.Body : Pem.None;
                        if (_pem == Pem.None)
                        {
                            Inline(token);
                            return;
                        }

                        continue;
                    }

                    _output.Append(token[..labelEnd]);
                    token = token[labelEnd..];
                    if (dashes >= 0)
                    {
                        _pem = _pem == Pem.BeginLabel ? Pem.Body : Pem.None;
                        _pemLabelTokens = 0;
                    }

                    break;
                case Pem.Body:
                    var end = token.IndexOf("-----END", StringComparison.Ordinal);
                    if (!_pemBodyMasked && end != 0)
                    {
                        _output.Append(SecretRedactor.Mask);
                        _pemBodyMasked = true;
                    }

                    if (end < 0)
                    {
                        return;
                    }

                    _output.Append("-----END");
                    token = token[(end + 8)..];
                    _pem = Pem.EndLabel;
                    _pemLabelTokens = 0;
                    break;
            }
        }
    }

    // A long argument is cut for display, after redaction (cutting first could split a secret past recognition).
    private void Shorten(int start)
    {
        var length = _output.Length - start;
        if (length <= SecretRedactor.MaxArgumentChars)
        {
            return;
        }

        var keep = SecretRedactor.MaxArgumentChars - 32;
        _output.Length = start + keep;
        _output.Append("…[+").Append((length - keep).ToString(CultureInfo.InvariantCulture)).Append(" chars]");
    }
}
