// Loads a server (or client) certificate the way Postfix's tls_certkey.c does:
// either *_tls_chain_files (PEM: a private key directly followed by its
// certificate and issuer chain; several files read as one concatenation) or
// the legacy *_tls_cert_file (leaf, then any chain) + *_tls_key_file pair.
// Trusted operator files; errors are returned as text for a config error.
// Only the first key/chain is used (Postfix allows one per algorithm).
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Net.Security;

namespace Postfix.Protocols.Tls;

public static class TlsCertificateFiles
{
    /// <summary>Certificate context from chain files, or cert + key files; null when none is configured.</summary>
    public static SslStreamCertificateContext? Load(IReadOnlyList<string> chainFiles, string certFile, string keyFile)
    {
        if (chainFiles.Count > 0) return FromChainFiles(chainFiles);
        if (certFile.Length == 0) return null;
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(certFile);
        if (all.Count == 0) throw new CryptographicException($"{certFile}: no certificate found");
        var leaf = X509Certificate2.CreateFromPemFile(certFile, keyFile.Length > 0 ? keyFile : null);
        return Context(leaf, all.Skip(1));
    }

    private static SslStreamCertificateContext FromChainFiles(IReadOnlyList<string> files)
    {
        var text = string.Concat(files.Select(f => File.ReadAllText(f) + "\n"));
        string? key = null, leaf = null;
        var chain = new List<X509Certificate2>();
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label].ToString();
            var pem = rest[fields.Location].ToString();
            rest = rest[fields.Location.End..];
            if (label.EndsWith("PRIVATE KEY", StringComparison.Ordinal))
            {
                if (key is not null) break; // the next key's chain: one key pair is used
                key = pem;
            }
            else if (label == "CERTIFICATE" && key is not null)
            {
                if (leaf is null) leaf = pem;
                else chain.Add(X509Certificate2.CreateFromPem(pem));
            }
        }
        if (key is null || leaf is null)
            throw new CryptographicException($"{string.Join(", ", files)}: expected a PEM private key followed by its certificate");
        return Context(X509Certificate2.CreateFromPem(leaf, key), chain);
    }

    private static SslStreamCertificateContext Context(X509Certificate2 leaf, IEnumerable<X509Certificate2> chain)
    {
        if (!leaf.HasPrivateKey) throw new CryptographicException("the certificate's private key was not found");
        return SslStreamCertificateContext.Create(leaf, new X509Certificate2Collection(chain.ToArray()), offline: true);
    }

    /// <summary>The CA certificates of *_tls_CAfile (PEM, any number).</summary>
    public static X509Certificate2Collection LoadCaFile(string file)
    {
        var c = new X509Certificate2Collection();
        if (file.Length > 0) c.ImportFromPemFile(file);
        return c;
    }
}
