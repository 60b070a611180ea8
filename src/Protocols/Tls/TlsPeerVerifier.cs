// How much a TLS client trusts the server it reached (Postfix tls/tls_verify.c
// and the smtp_tls_*_cert_match strategies): "Untrusted" (no chain to a
// trusted CA), "Trusted" (chain ok), "Verified" (chain ok and a name matched).
// Trust anchors are smtp_tls_CAfile, plus the system store only with
// tls_append_default_CA = yes (Postfix's default is no). The certificate is
// untrusted peer data: only chain building and name matching look at it.
using System.Security.Cryptography.X509Certificates;

namespace Postfix.Protocols.Tls;

public sealed class TlsPeerVerifier(X509Certificate2Collection caCertificates, bool appendDefaultCa)
{
    /// <summary>Trust in <paramref name="cert"/> (with the intermediates the server sent), matched against <paramref name="names"/>.</summary>
    public TlsPeerTrust Evaluate(X509Certificate2? cert, X509Certificate2Collection intermediates, IReadOnlyList<TlsNameMatch> names)
    {
        if (cert is null) return TlsPeerTrust.Anonymous;
        if (!ChainIsTrusted(cert, intermediates)) return TlsPeerTrust.Untrusted;
        foreach (var n in names)
            if (n.Matches(cert)) return TlsPeerTrust.Verified;
        return TlsPeerTrust.Trusted;
    }

    private bool ChainIsTrusted(X509Certificate2 cert, X509Certificate2Collection intermediates)
    {
        if (caCertificates.Count > 0 && Build(cert, intermediates, custom: true)) return true;
        return appendDefaultCa && Build(cert, intermediates, custom: false);
    }

    private bool Build(X509Certificate2 cert, X509Certificate2Collection intermediates, bool custom)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")); // serverAuth
        if (custom)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(caCertificates);
        }
        return chain.Build(cert);
    }
}
