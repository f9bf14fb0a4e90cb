using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GpuAudit.Tests;

/// <summary>
/// A throw-away CA with a server certificate (for 127.0.0.1 and localhost) and a client
/// certificate, written as PEM files the way an operator's web-config names them.
/// </summary>
internal sealed class TestCertificates
{
    // One validity window in whole seconds (what X.509 stores): an issued certificate may not
    // outlive its CA by the fraction of a second a rounded CA expiry would lose.
    private readonly DateTimeOffset _notBefore = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddDays(-1).ToUnixTimeSeconds());
    private readonly DateTimeOffset _notAfter = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeSeconds());

    private TestCertificates(string directory)
    {
        Directory = directory;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=gpuaudit test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Ca = caRequest.CreateSelfSigned(_notBefore, _notAfter);

        var sans = new SubjectAlternativeNameBuilder();
        sans.AddIpAddress(IPAddress.Loopback);
        sans.AddDnsName("localhost");
        Server = Issue("CN=gpuaudit agent", sans.Build(), "1.3.6.1.5.5.7.3.1", "server");
        Client = Issue("CN=prometheus", null, "1.3.6.1.5.5.7.3.2", "client");
        File.WriteAllText(CaFile, Ca.ExportCertificatePem());
    }

    public string Directory { get; }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Server { get; }

    public X509Certificate2 Client { get; }

    public string CaFile => Path.Combine(Directory, "ca.pem");

    public string ServerCertFile => Path.Combine(Directory, "server.pem");

    public string ServerKeyFile => Path.Combine(Directory, "server-key.pem");

    public string ClientCertFile => Path.Combine(Directory, "client.pem");

    public string ClientKeyFile => Path.Combine(Directory, "client-key.pem");

    public static TestCertificates Create(string directory) => new(directory);

    /// <summary>True when <paramref name="certificate"/> chains to the test CA alone.</summary>
    public bool IsIssuedByCa(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    private X509Certificate2 Issue(string subject, X509Extension? sans, string usage, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        if (sans is not null)
        {
            request.CertificateExtensions.Add(sans);
        }

        using var issued = request.Create(Ca, _notBefore, _notAfter, RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(Path.Combine(Directory, name + ".pem"), issued.ExportCertificatePem());
        File.WriteAllText(Path.Combine(Directory, name + "-key.pem"), key.ExportPkcs8PrivateKeyPem());
        return issued.CopyWithPrivateKey(key);
    }
}
