// A throw-away PKI for the TLS tests: a CA and a server certificate for
// mx.test.example / localhost / 127.0.0.1 signed by it, made with
// CertificateRequest and written as PEM (the files an operator would point
// smtpd_tls_* / smtp_tls_CAfile at). ECDSA P-256 keeps generation fast.
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Postfix.Tests.Tls;

public sealed class TestPki : IDisposable
{
    public string Dir { get; }
    /// <summary>The CA certificate (smtp_tls_CAfile).</summary>
    public string CaFile => Path.Combine(Dir, "ca.pem");
    /// <summary>Server certificate followed by the CA (smtpd_tls_cert_file).</summary>
    public string CertFile => Path.Combine(Dir, "server.pem");
    /// <summary>The server key alone (smtpd_tls_key_file).</summary>
    public string KeyFile => Path.Combine(Dir, "server.key");
    /// <summary>Key, certificate, CA in one file (smtpd_tls_chain_files).</summary>
    public string ChainFile => Path.Combine(Dir, "chain.pem");
    /// <summary>An unrelated CA: verifying the server against it must fail.</summary>
    public string OtherCaFile => Path.Combine(Dir, "other-ca.pem");

    private TestPki(string dir) => Dir = dir;

    public static TestPki Create(string hostname = "mx.test.example")
    {
        var pki = new TestPki(Directory.CreateTempSubdirectory("pki-").FullName);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = MakeCa("Test CA", caKey);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = MakeCa("Other CA", otherKey);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={hostname}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostname);
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = req.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(8));

        string caPem = ca.ExportCertificatePem() + "\n";
        string leafPem = leaf.ExportCertificatePem() + "\n";
        string keyPem = key.ExportPkcs8PrivateKeyPem() + "\n";
        File.WriteAllText(pki.CaFile, caPem);
        File.WriteAllText(pki.OtherCaFile, other.ExportCertificatePem() + "\n");
        File.WriteAllText(pki.CertFile, leafPem + caPem);
        File.WriteAllText(pki.KeyFile, keyPem);
        File.WriteAllText(pki.ChainFile, keyPem + leafPem + caPem);
        return pki;
    }

    private static X509Certificate2 MakeCa(string name, ECDsa key)
    {
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(60));
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
