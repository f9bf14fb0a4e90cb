using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GpuAudit.Core;

namespace GpuAudit.Agent.Exporters.Http;

/// <summary>
/// The server certificate of the /metrics TLS listener. Certificate and key files are re-read
/// when either changes (checked at most once a second, at a handshake), so a renewed certificate
/// (cert-manager, an ACME client) is served without restarting the agent, as the exporter-toolkit
/// does. A renewal that cannot be read keeps the previous certificate and warns once.
/// </summary>
internal sealed class ServerCertificate
{
    private readonly TlsSettings _settings;
    private readonly string _configPath;
    private readonly Action<string> _warn;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private X509Certificate2 _current;
    private (DateTime Cert, DateTime Key) _stamps;
    private long _nextCheck;
    private string? _lastWarning;

    public ServerCertificate(TlsSettings settings, string configPath, Action<string> warn, TimeProvider time)
    {
        _settings = settings;
        _configPath = configPath;
        _warn = warn;
        _time = time;
        _stamps = Stamps();
        _current = Load(settings, configPath);
    }

    public X509Certificate2 Current
    {
        get
        {
            if (_settings.Files is null || _time.GetTimestamp() < Volatile.Read(ref _nextCheck))
            {
                return _current;
            }

            lock (_gate)
            {
                _nextCheck = _time.GetTimestamp() + _time.TimestampFrequency;
                var stamps = Stamps();
                if (stamps == _stamps)
                {
                    return _current;
                }

                try
                {
                    _current = Load(_settings, _configPath);
                    _stamps = stamps;
                    _lastWarning = null;
                }
                catch (UserInputException e) when (_lastWarning != e.Message)
                {
                    _lastWarning = e.Message;
                    _warn(e.Message + "; still serving the previous certificate");
                }
                catch (UserInputException)
                {
                    // Already warned about this exact problem.
                }

                return _current;
            }
        }
    }

    /// <summary>Loads the certificate with its private key; a problem is one line naming the file and the fix.</summary>
    public static X509Certificate2 Load(TlsSettings settings, string configPath)
    {
        var (certName, keyName) = settings.Files ?? ("(inline cert)", "(inline key)");
        try
        {
            var certificate = settings.Files is { } files
                ? X509Certificate2.CreateFromPemFile(files.Cert, files.Key)
                : X509Certificate2.CreateFromPem(settings.Inline!.Value.Cert, settings.Inline.Value.Key);
            if (!certificate.HasPrivateKey)
            {
                throw new CryptographicException("the key does not belong to the certificate");
            }

            return certificate;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"{configPath}: cannot read tls_server_config certificate {certName} or key {keyName} ({e.Message}); check cert_file and key_file", e) { Input = UserInput.WebConfig };
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new UserInputException($"{configPath}: certificate {certName} with key {keyName} is unusable ({e.Message}); give a PEM certificate and its unencrypted PEM private key", e) { Input = UserInput.WebConfig };
        }
    }

    private (DateTime, DateTime) Stamps() => _settings.Files is { } files
        ? (File.GetLastWriteTimeUtc(files.Cert), File.GetLastWriteTimeUtc(files.Key))
        : default;
}
