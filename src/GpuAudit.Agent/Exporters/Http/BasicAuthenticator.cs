using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// HTTP basic authentication against bcrypt hashes (exporter-toolkit's basic_auth_users).
/// bcrypt costs tens of milliseconds by design, and Prometheus sends the same credentials every
/// scrape, so a verified (user, password) pair is remembered by its SHA-256 (at most one entry
/// per user whose correct password was given; never the password itself). Verifications run one
/// at a time, so a client guessing passwords burns at most one core of the agent's CPU quota. An
/// unknown user is checked against a dummy hash: answering at once would tell which users exist.
/// </summary>
internal sealed class BasicAuthenticator : IDisposable
{
    private readonly IReadOnlyDictionary<string, string> _users;
    private readonly ConcurrentDictionary<string, byte> _verified = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _bcrypt = new(1, 1);
    private readonly Lazy<string> _dummyHash;

    public BasicAuthenticator(IReadOnlyDictionary<string, string> users)
    {
        _users = users;
        // Same cost as the configured hashes, so an unknown user takes as long as a wrong password.
        var cost = users.Values.Select(h => int.Parse(h.AsSpan(h.IndexOf('$', 1) + 1, 2), System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(10).Max();
        _dummyHash = new Lazy<string>(() => BCrypt.Net.BCrypt.HashPassword(Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), cost));
    }

    public async ValueTask<bool> IsAuthorizedAsync(StringValues authorization, CancellationToken cancellationToken)
    {
        if (!TryParse(authorization, out var user, out var password))
        {
            return false;
        }

        var known = _users.TryGetValue(user, out var hash);
        hash ??= _dummyHash.Value;
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(user + "\0" + password + "\0" + hash)));
        if (known && _verified.ContainsKey(key))
        {
            return true;
        }

        await _bcrypt.WaitAsync(cancellationToken);
        bool valid;
        try
        {
            valid = BCrypt.Net.BCrypt.Verify(password, hash);
        }
        finally
        {
            _bcrypt.Release();
        }

        if (valid && known)
        {
            _verified.TryAdd(key, 0);
            return true;
        }

        return false;
    }

    public void Dispose() => _bcrypt.Dispose();

    private static bool TryParse(StringValues header, out string user, out string password)
    {
        user = password = string.Empty;
        var value = header.Count == 1 ? header[0] : null;
        if (value is null || !value.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        Span<byte> decoded = stackalloc byte[768];
        if (!Convert.TryFromBase64String(value.AsSpan(6).Trim().ToString(), decoded, out var length))
        {
            return false;
        }

        var text = Encoding.UTF8.GetString(decoded[..length]);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        user = text[..colon];
        password = text[(colon + 1)..];
        return true;
    }
}
