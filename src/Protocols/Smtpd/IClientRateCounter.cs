// anvil(8)'s rate counters kept somewhere other than this process (our extension): with
// cluster_store set, the host hands smtpd an implementation that counts a client's
// connections, MAIL FROM requests and RCPT TO addresses across every node of the cluster
// (src/Cluster's ClusterClientRates, wired in src/Host/Master/ClusterServices.cs). Protocols
// knows only this interface, so smtpd does not depend on the store.
// A null answer means "the shared counter cannot answer now": smtpd then counts in its own
// Anvil, as a single node does, until the counter answers again. Input: the client address
// (from the socket) and the limits (main.cf, trusted).
using System.Net;

namespace Postfix.Protocols.Smtpd;

public interface IClientRateCounter
{
    /// <summary>Counts one <paramref name="e"/> of <paramref name="client"/> against
    /// <paramref name="limit"/> per <paramref name="window"/>: the count including this event
    /// (above <paramref name="limit"/> = refused), or null when the counter is unavailable.</summary>
    ValueTask<long?> HitAsync(IPAddress client, Anvil.Event e, int limit, TimeSpan window);
}
