// trivial-rewrite(8)'s answer for one recipient: the address class and where
// it goes, as transport:nexthop (Postfix: RESOLVE_CLASS_*, rewrite_clnt).
namespace Postfix.Core.Rewrite;

public enum AddressClass : byte
{
    Local,
    VirtualAlias,
    VirtualMailbox,
    Relay,
    Default,
}

public readonly record struct ResolvedAddress(AddressClass Class, string Transport, string Nexthop)
{
    public string Destination => $"{Transport}:{Nexthop}";
}
