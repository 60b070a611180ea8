// A server name the smtp client accepts in a certificate, resolved from
// smtp_tls_verify_cert_match / smtp_tls_secure_cert_match for one session
// (Postfix tls/tls_verify.c: hostname, nexthop, dot-nexthop, literal names).
// The certificate is untrusted peer data; matching only reads its names.
using System.Security.Cryptography.X509Certificates;

namespace Postfix.Protocols.Tls;

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
