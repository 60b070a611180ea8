// How much a TLS client trusts the server it reached (Postfix tls/tls_verify.c
// and the smtp_tls_*_cert_match strategies): "Untrusted" (no chain to a
// trusted CA), "Trusted" (chain ok), "Verified" (chain ok and a name matched).
// Trust anchors are smtp_tls_CAfile, plus the system store only with
// tls_append_default_CA = yes (Postfix's default is no). The certificate is
// untrusted peer data: only chain building and name matching look at it.
using System.Security.Cryptography.X509Certificates;

namespace Postfix.Protocols.Tls;

public enum TlsPeerTrust : byte { Anonymous, Untrusted, Trusted, Verified }

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

/// <summary>One smtp_tls_verify_cert_match / smtp_tls_secure_cert_match item, resolved for a session.</summary>
public readonly record struct TlsNameMatch(string Name, bool SubdomainsOnly)
{
    /// <summary>A DNS name in the certificate (wildcards in the first label allowed) equals Name, or, for
    /// a "dot-nexthop"/".example.com" item, is a subdomain of it.</summary>
    public bool Matches(X509Certificate2 cert)
    {
        if (!SubdomainsOnly) return cert.MatchesHostname(Name, allowWildcards: true, allowCommonName: true);
        foreach (var ext in cert.Extensions)
        {
            if (ext is not X509SubjectAlternativeNameExtension san) continue;
            foreach (var dns in san.EnumerateDnsNames())
                if (dns.EndsWith("." + Name, StringComparison.OrdinalIgnoreCase) && !dns.StartsWith("*.", StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>Postfix's strategies: hostname (the MX host), nexthop, dot-nexthop, a name, or ".domain".</summary>
    public static IReadOnlyList<TlsNameMatch> Resolve(IReadOnlyList<string> items, string hostname, string nexthop)
    {
        var list = new List<TlsNameMatch>();
        foreach (var item in items)
        {
            switch (item.ToLowerInvariant())
            {
                case "hostname": list.Add(new(hostname, false)); break;
                case "nexthop": list.Add(new(nexthop, false)); break;
                case "dot-nexthop": list.Add(new(nexthop, true)); break;
                default:
                    if (item.StartsWith('.')) list.Add(new(item[1..], true));
                    else list.Add(new(item, false));
                    break;
            }
        }
        return list;
    }
}
