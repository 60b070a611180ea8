// Tells an address lookup whether a domain is local (Postfix's resolve_local(): myorigin,
// mydestination, inet_interfaces, proxy_interfaces), for the localpart steps of AddressKeyOrder.
// The domain comes from an envelope address (untrusted bytes).
namespace Postfix.Core.Tables;

public delegate bool LocalDomainPredicate(ReadOnlySpan<byte> domain);
