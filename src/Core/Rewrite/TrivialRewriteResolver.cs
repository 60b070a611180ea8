// trivial-rewrite(8), resolve step: recipient -> (address class, transport,
// nexthop), in Postfix's order: transport_maps (when a table is configured;
// tables arrive with their own issue), then the address class from
// mydestination / relay_domains, then local_transport / relay_transport /
// default_transport with relayhost. A "transport:nexthop" value with an empty
// nexthop keeps the class's nexthop (Postfix's transport(5) semantics).
// Input: envelope addresses as queued (already syntax-checked by smtpd).
namespace Postfix.Core.Rewrite;

public sealed class TrivialRewriteResolver
{
    private readonly HashSet<string> _myDestination;
    private readonly HashSet<string> _relayDomains;
    private readonly string _relayhost;
    private readonly (string Transport, string Nexthop) _default, _relay, _local;
    private readonly Func<string, string?>? _transportMap;

    public TrivialRewriteResolver(IEnumerable<string> myDestination, IEnumerable<string> relayDomains, string relayhost,
        string defaultTransport, string relayTransport = "relay", string localTransport = "local",
        Func<string, string?>? transportMap = null)
    {
        _myDestination = new HashSet<string>(myDestination.Select(Normalize), StringComparer.OrdinalIgnoreCase);
        _relayDomains = new HashSet<string>(relayDomains.Select(Normalize), StringComparer.OrdinalIgnoreCase);
        _relayhost = relayhost.Trim();
        _default = Split(defaultTransport);
        _relay = Split(relayTransport);
        _local = Split(localTransport);
        _transportMap = transportMap;
    }

    public ResolvedAddress Resolve(string address)
    {
        int at = address.LastIndexOf('@');
        string domain = at < 0 ? "" : Normalize(address[(at + 1)..]);
        AddressClass cls;
        (string Transport, string Nexthop) target;
        if (domain.Length == 0 || _myDestination.Contains(domain))
        {
            cls = AddressClass.Local;
            target = (_local.Transport, _local.Nexthop.Length > 0 ? _local.Nexthop : domain);
        }
        else if (MatchesRelayDomain(domain))
        {
            cls = AddressClass.Relay;
            target = (_relay.Transport, _relay.Nexthop.Length > 0 ? _relay.Nexthop : _relayhost.Length > 0 ? _relayhost : domain);
        }
        else
        {
            cls = AddressClass.Default;
            target = (_default.Transport, _default.Nexthop.Length > 0 ? _default.Nexthop : _relayhost.Length > 0 ? _relayhost : domain);
        }
        if (_transportMap is not null && LookupTransport(address, domain) is { } mapped)
        {
            var (t, n) = Split(mapped);
            target = (t.Length > 0 ? t : target.Transport, n.Length > 0 ? n : target.Nexthop);
        }
        return new ResolvedAddress(cls, target.Transport, target.Nexthop);
    }

    private string? LookupTransport(string address, string domain)
    {
        // transport(5) order: full address, domain, parent domains as ".domain", then "*".
        if (_transportMap!(address.ToLowerInvariant()) is { } v) return v;
        if (domain.Length > 0)
        {
            if (_transportMap(domain) is { } d) return d;
            for (int dot = domain.IndexOf('.'); dot >= 0; dot = domain.IndexOf('.', dot + 1))
                if (_transportMap(domain[dot..]) is { } p) return p;
        }
        return _transportMap("*");
    }

    private bool MatchesRelayDomain(string domain)
    {
        if (_relayDomains.Contains(domain)) return true;
        // Postfix default parent_domain_matches_subdomains includes relay_domains.
        for (int dot = domain.IndexOf('.'); dot >= 0; dot = domain.IndexOf('.', dot + 1))
            if (_relayDomains.Contains(domain[(dot + 1)..])) return true;
        return false;
    }

    private static string Normalize(string d) => d.Trim().TrimEnd('.').ToLowerInvariant();

    /// <summary>"smtp:[host]:25" -> ("smtp", "[host]:25"); "smtp" -> ("smtp", "").</summary>
    public static (string Transport, string Nexthop) Split(string value)
    {
        value = value.Trim();
        int colon = value.IndexOf(':');
        return colon < 0 ? (value, "") : (value[..colon], value[(colon + 1)..]);
    }
}
