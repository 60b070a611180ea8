// trivial-rewrite(8), resolve step: recipient -> (address class, transport,
// nexthop), in Postfix's order: the address class from mydestination,
// virtual_alias_domains, virtual_mailbox_domains, relay_domains, else default;
// its transport (local_transport, error:User unknown in virtual alias table,
// virtual_transport, relay_transport, default_transport with relayhost); then
// transport_maps overrides. A "transport:nexthop" value with an empty
// nexthop keeps the class's nexthop (Postfix's transport(5) semantics).
// Input: envelope addresses as queued (already syntax-checked by smtpd).
namespace Postfix.Core.Rewrite;

public sealed class TrivialRewriteResolver
{
    /// <summary>Postfix's transport for recipients in a virtual alias domain that no virtual alias matched.</summary>
    public const string VirtualAliasUnknown = "error:5.1.1 User unknown in virtual alias table";

    private readonly DomainList _myDestination, _relayDomains, _virtualAlias, _virtualMailbox;
    private readonly string _relayhost;
    private readonly (string Transport, string Nexthop) _default, _relay, _local, _virtual;
    private readonly Func<string, string?>? _transportMap;

    public TrivialRewriteResolver(IEnumerable<string> myDestination, IEnumerable<string> relayDomains, string relayhost,
        string defaultTransport, string relayTransport = "relay", string localTransport = "local",
        Func<string, string?>? transportMap = null)
        : this(new DomainList(myDestination, null, false), new DomainList(relayDomains, null, true), DomainList.Empty, DomainList.Empty,
            relayhost, defaultTransport, relayTransport, localTransport, "virtual", transportMap)
    {
    }

    public TrivialRewriteResolver(DomainList myDestination, DomainList relayDomains, DomainList virtualAliasDomains,
        DomainList virtualMailboxDomains, string relayhost, string defaultTransport, string relayTransport,
        string localTransport, string virtualTransport, Func<string, string?>? transportMap)
    {
        _myDestination = myDestination;
        _relayDomains = relayDomains;
        _virtualAlias = virtualAliasDomains;
        _virtualMailbox = virtualMailboxDomains;
        _relayhost = relayhost.Trim();
        _default = Split(defaultTransport);
        _relay = Split(relayTransport);
        _local = Split(localTransport);
        _virtual = Split(virtualTransport);
        _transportMap = transportMap;
    }

    /// <summary>True for domains in mydestination (address class local).</summary>
    public bool IsLocalDomain(string domain) => _myDestination.Contains(domain);

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
        else if (_virtualAlias.Contains(domain))
        {
            cls = AddressClass.VirtualAlias;
            target = Split(VirtualAliasUnknown);
        }
        else if (_virtualMailbox.Contains(domain))
        {
            cls = AddressClass.VirtualMailbox;
            target = (_virtual.Transport, _virtual.Nexthop.Length > 0 ? _virtual.Nexthop : domain);
        }
        else if (_relayDomains.Contains(domain))
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

    private static string Normalize(string d) => d.Trim().TrimEnd('.').ToLowerInvariant();

    /// <summary>"smtp:[host]:25" -> ("smtp", "[host]:25"); "smtp" -> ("smtp", "").</summary>
    public static (string Transport, string Nexthop) Split(string value)
    {
        value = value.Trim();
        int colon = value.IndexOf(':');
        return colon < 0 ? (value, "") : (value[..colon], value[(colon + 1)..]);
    }
}
