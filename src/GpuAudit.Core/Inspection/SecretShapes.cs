using System.Buffers;

namespace GpuAudit.Core.Inspection;

/// <summary>
/// The redactor's rules inside one token: secret-named keys with their values (<c>K=V</c>,
/// <c>"k": "v"</c>, <c>?token=...&amp;</c>, <c>Authorization: Bearer ...</c>), URL and
/// <c>user:password@host</c> credentials, issued-token shapes, JWTs and wallet addresses. Each rule
/// is one forward pass with bounded look-ahead and only adds the ranges to mask, so the cost is
/// linear in the token whatever it holds.
/// </summary>
internal static class SecretShapes
{
    private static readonly SearchValues<char> Separators = SearchValues.Create("=:@");
    private static readonly SearchValues<char> PrefixStarts = SearchValues.Create(string.Concat(SecretVocabulary.TokenPrefixes.Select(p => p.Prefix[0]).Distinct()));
    private static readonly SearchValues<char> Base58 = SearchValues.Create("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz");
    private static readonly SearchValues<char> Bech32 = SearchValues.Create("qpzry9x8gf2tvdw0s3jn54khce6mua7l");
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");
    private static readonly SearchValues<char> UpperAlphanumeric = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

    /// <summary>What the rules found in one token.</summary>
    public readonly record struct Result(bool ValueFollows, bool SchemeMayFollow);

    /// <summary>Adds the ranges of <paramref name="s"/> to mask to <paramref name="masks"/>.</summary>
    public static Result Find(ReadOnlySpan<char> s, List<(int Start, int End)> masks)
    {
        // Every rule needs a separator or at least 14 characters (the shortest shape, a bech32 address).
        if (s.Length < 14 && s.IndexOfAny(Separators) < 0)
        {
            return default;
        }

        var result = KeyValues(s, masks);
        UrlCredentials(s, masks);
        UserPasswordAt(s, masks);
        AlphanumericShapes(s, masks);
        PrefixedTokens(s, masks);
        JsonWebTokens(s, masks);
        return result;
    }

    /// <summary>Writes <paramref name="s"/> with the (unordered, possibly overlapping) masked ranges replaced by one mask each.</summary>
    public static void Emit(ReadOnlySpan<char> s, List<(int Start, int End)> masks, System.Text.StringBuilder output)
    {
        masks.Sort();
        var at = 0;
        var i = 0;
        while (i < masks.Count)
        {
            var (start, end) = masks[i++];
            while (i < masks.Count && masks[i].Start <= end)
            {
                end = Math.Max(end, masks[i++].End);
            }

            output.Append(s[at..start]);
            output.Append(SecretRedactor.Mask);
            at = end;
        }

        output.Append(s[at..]);
    }

    public static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-';

    private static bool IsQuote(char c) => c is '"' or '\'' or '\\';

    private static bool IsValueEnd(char c) =>
        char.IsWhiteSpace(c) || c is '&' or ';' or ',' or '}' or ']' or ')' or '"' or '\'' or '`' or '<' or '>' or '|';

    /// <summary>Secret-named keys followed by <c>=</c> or <c>:</c>: their values.</summary>
    private static Result KeyValues(ReadOnlySpan<char> s, List<(int Start, int End)> masks)
    {
        var lead = 0;
        while (lead < s.Length && (IsQuote(s[lead]) || s[lead] == '-'))
        {
            lead++;
        }

        var i = 0;
        while (i < s.Length)
        {
            if (!IsNameChar(s[i]))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < s.Length && IsNameChar(s[i]))
            {
                i++;
            }

            var end = i;
            var k = end;
            while (k < s.Length && k - end < 3 && IsQuote(s[k]))
            {
                k++;
            }

            if (k >= s.Length || s[k] is not ('=' or ':')
                || (s[k] == ':' && k + 2 < s.Length && s[k + 1] == '/' && s[k + 2] == '/')
                || !SecretVocabulary.IsSecretName(s[start..end]))
            {
                continue;
            }

            var separator = s[k];
            var v = k + 1;
            if (v < s.Length && s[v] == '=')
            {
                v++;
            }

            while (v < s.Length && s[v] is ' ' or '\t')
            {
                v++;
            }

            var quote = '\0';
            var openers = v;
            while (v < s.Length && v - openers < 3 && IsQuote(s[v]))
            {
                quote = s[v] == '\\' ? quote : s[v];
                v++;
            }

            if (v >= s.Length)
            {
                // "password:" or "Authorization:" ends the token: the value is the next one.
                return new Result(true, separator == ':');
            }

            v = SkipAuthScheme(s, v);
            int valueEnd;
            if (quote != '\0')
            {
                var close = s[v..].IndexOf(quote);
                valueEnd = close < 0 ? s.Length : v + close;
                if (valueEnd > v && s[valueEnd - 1] == '\\')
                {
                    valueEnd--;
                }
            }
            else if (start <= lead)
            {
                // The name begins the token (--k=v, K=V, -Dk=v): the rest of the token is the value.
                valueEnd = s.Length > 1 && s[0] is '"' or '\'' && s[^1] == s[0] ? s.Length - 1 : s.Length;
            }
            else
            {
                valueEnd = v;
                // After a colon an '@' ends the value: "wallet:password@host" is a URL's user info.
                while (valueEnd < s.Length && !IsValueEnd(s[valueEnd]) && !(separator == ':' && s[valueEnd] == '@'))
                {
                    valueEnd++;
                }
            }

            if (valueEnd > v)
            {
                masks.Add((v, valueEnd));
            }

            i = Math.Max(valueEnd, k + 1);
        }

        return default;
    }

    // "Bearer abc" inside one token (a quoted header): the scheme stays, the credential after it goes.
    private static int SkipAuthScheme(ReadOnlySpan<char> s, int v)
    {
        var w = v;
        while (w < s.Length && w - v < 32 && (char.IsAsciiLetterOrDigit(s[w]) || s[w] == '-'))
        {
            w++;
        }

        if (w == v || w >= s.Length || s[w] is not (' ' or '\t') || !SecretVocabulary.IsAuthScheme(s[v..w]))
        {
            return v;
        }

        while (w < s.Length && s[w] is ' ' or '\t')
        {
            w++;
        }

        return w;
    }

    /// <summary><c>scheme://user[:password]@host</c>: the user part too (for pools it is the wallet).</summary>
    private static void UrlCredentials(ReadOnlySpan<char> s, List<(int Start, int End)> masks)
    {
        var p = 0;
        while (p < s.Length)
        {
            var found = s[p..].IndexOf("://", StringComparison.Ordinal);
            if (found < 0)
            {
                return;
            }

            var authority = p + found + 3;
            var e = authority;
            var lastAt = -1;
            while (e < s.Length && s[e] is not ('/' or '?' or '#' or '"' or '\'' or '<' or '>' or '`') && !char.IsWhiteSpace(s[e]))
            {
                if (s[e] == '@')
                {
                    lastAt = e;
                }

                e++;
            }

            if (lastAt > authority)
            {
                masks.Add((authority, lastAt));
            }

            p = e;
        }
    }

    /// <summary><c>user:password@host</c> without a scheme (proxies, <c>-u</c> values).</summary>
    private static void UserPasswordAt(ReadOnlySpan<char> s, List<(int Start, int End)> masks)
    {
        var segment = 0;
        var colon = -1;
        var lastAt = -1;
        for (var i = 0; i <= s.Length; i++)
        {
            var c = i < s.Length ? s[i] : ' ';
            if (char.IsWhiteSpace(c) || c is '"' or '\'' or '/' or '=' or ',' or ';' or '(' or ')' or '<' or '>' or '[' or ']' or '{' or '}' or '`' or '|')
            {
                if (lastAt > segment && colon >= segment && colon < lastAt)
                {
                    masks.Add((segment, lastAt));
                }

                segment = i + 1;
                colon = -1;
                lastAt = -1;
            }
            else if (c == ':' && colon < 0)
            {
                colon = i;
            }
            else if (c == '@')
            {
                lastAt = i;
            }
        }
    }

    /// <summary>Runs of letters and digits shaped like an AWS key id or a wallet address.</summary>
    private static void AlphanumericShapes(ReadOnlySpan<char> s, List<(int Start, int End)> masks)
    {
        var i = 0;
        while (i < s.Length)
        {
            if (!char.IsAsciiLetterOrDigit(s[i]))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < s.Length && char.IsAsciiLetterOrDigit(s[i]))
            {
                i++;
            }

            if (IsWalletOrKeyId(s[start..i]))
            {
                masks.Add((start, i));
            }
        }
    }

    private static bool IsWalletOrKeyId(ReadOnlySpan<char> run)
    {
        switch (run.Length)
        {
            case 42 when run[0] == '0' && run[1] is 'x' or 'X':
                // Ethereum (and every EVM chain): 0x + 40 hex digits.
                return !run[2..].ContainsAnyExcept(HexDigits);
            case 20 when run.StartsWith("AKIA", StringComparison.Ordinal) || run.StartsWith("ASIA", StringComparison.Ordinal):
                return !run.ContainsAnyExcept(UpperAlphanumeric);
        }

        var first = run[0];
        if (run.Length >= 14 && (run.StartsWith("bc1", StringComparison.Ordinal) || run.StartsWith("ltc1", StringComparison.Ordinal) || run.StartsWith("tb1", StringComparison.Ordinal)))
        {
            // Bech32 segwit addresses (lower case).
            var data = run[(run.IndexOf('1') + 1)..];
            return data.Length >= 11 && !data.ContainsAnyExcept(Bech32);
        }

        var base58Address =
            (run.Length is >= 26 and <= 35 && first is '1' or '3')                 // Bitcoin P2PKH / P2SH
            || (run.Length is 34 && first is 'L' or 'M' or 'R' or 'D' or 'X' or 't') // Litecoin, Ravencoin, Dogecoin, Dash, Zcash
            || (run.Length is 95 or 106 && first is '4' or '8')                     // Monero standard / integrated
            || (run.Length is 51 && first == '9');                                  // Ergo
        return base58Address && !run.ContainsAnyExcept(Base58) && MixedCase(run[1..]);
    }

    // Random base58 has upper, lower and digits; names and words of the same alphabet rarely have all three.
    private static bool MixedCase(ReadOnlySpan<char> run) =>
        run.ContainsAnyInRange('A', 'Z') && run.ContainsAnyInRange('a', 'z') && run.ContainsAnyInRange('0', '9');

    /// <summary>Tokens that start with an issuer's prefix (ghp_, glpat-, xoxb-, hf_, sk-, AKIA...), in one pass.</summary>
    private static void PrefixedTokens(ReadOnlySpan<char> s, List<(int Start, int End)> masks)
    {
        var p = 0;
        while (p < s.Length)
        {
            var found = s[p..].IndexOfAny(PrefixStarts);
            if (found < 0)
            {
                return;
            }

            var start = p + found;
            p = start + 1;
            if (start > 0 && char.IsAsciiLetterOrDigit(s[start - 1]))
            {
                continue;
            }

            foreach (var (prefix, minTail) in SecretVocabulary.TokenPrefixes)
            {
                if (!s[start..].StartsWith(prefix, StringComparison.Ordinal))
                {
                    continue;
                }

                var end = start + prefix.Length;
                while (end < s.Length && (char.IsAsciiLetterOrDigit(s[end]) || s[end] is '_' or '-'))
                {
                    end++;
                }

                if (end - start - prefix.Length >= minTail)
                {
                    masks.Add((start, end));
                }

                // A later start inside the same run is preceded by a letter, a digit, '_' or '-': only
                // '_' and '-' could begin another prefix, and that one would end where this one does.
                p = end;
                break;
            }
        }
    }

    /// <summary>JWTs: base64url "eyJ..." header, a dot, the payload, and an optional signature.</summary>
    private static void JsonWebTokens(ReadOnlySpan<char> s, List<(int Start, int End)> masks)
    {
        var p = 0;
        while (p < s.Length)
        {
            var found = s[p..].IndexOf("eyJ", StringComparison.Ordinal);
            if (found < 0)
            {
                return;
            }

            var start = p + found;
            var end = start;
            var dots = 0;
            while (end < s.Length && (char.IsAsciiLetterOrDigit(s[end]) || s[end] is '_' or '-' or '.' or '='))
            {
                dots += s[end] == '.' ? 1 : 0;
                end++;
            }

            if ((start == 0 || !IsBase64Url(s[start - 1])) && dots >= 1 && end - start >= 20)
            {
                masks.Add((start, end));
            }

            p = end;
        }
    }

    private static bool IsBase64Url(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';
}
