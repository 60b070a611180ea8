// anvil(8)'s counters kept somewhere other than this process (our extension): with
// cluster_store set, the host hands smtpd an implementation that counts a client's
// connections, MAIL FROM requests and RCPT TO addresses, and holds its concurrent
// connections (smtpd_client_connection_count_limit), across every node of the cluster
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

    /// <summary>Takes, or renews, one of the <paramref name="limit"/> connection slots of
    /// <paramref name="client"/> for <paramref name="holder"/> (a session): true when held, false
    /// when all are taken, null when the counter is unavailable. A slot lapses after
    /// <see cref="SlotLease"/> unless renewed, so a crashed node's slots free themselves.</summary>
    ValueTask<bool?> TryEnterAsync(IPAddress client, int limit, string holder);

    /// <summary>Gives <paramref name="holder"/>'s slot back (best effort: otherwise it lapses).</summary>
    ValueTask LeaveAsync(IPAddress client, string holder);

    /// <summary>A holder name unique across the nodes, one per session that takes a slot.</summary>
    string NewHolder();

    /// <summary>How long a slot lasts without renewal; smtpd renews its sessions' slots well within it.</summary>
    TimeSpan SlotLease { get; }
}
