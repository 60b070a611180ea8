// smtpd's anvil rates across the cluster (our extension): implements Protocols'
// IClientRateCounter over ClusterLimits' sliding window, one key per client address and event
// (prefix + "rate:smtpd:conn|mail|rcpt:ADDR"), so a client's connections, MAIL FROM requests
// and RCPT TO addresses are counted once for all nodes and all their smtpd services. The window
// is anvil_rate_time_unit, sliding and exact (Postfix's anvil counts per process in fixed
// windows). Refused events are not recorded. Concurrent connections per client
// (smtpd_client_connection_count_limit) are slots of ClusterLimits' leased semaphore
// (prefix + "sem:smtpd:conn:ADDR"), one per session, renewed by smtpd every third of the lease
// and given back at disconnect; a node that dies loses its slots after SlotLease.
// Null when the store cannot answer (StoreHealth logs the transition once): smtpd then counts
// in its own Anvil / per-node connection count until the store answers again.
// Input: the client address from the socket (untrusted only as key material).
using System.Net;
using Postfix.Protocols.Smtpd;

namespace Postfix.Cluster;

public sealed class ClusterClientRates(ClusterLimits limits) : IClientRateCounter
{

    public TimeSpan SlotLease { get; } = TimeSpan.FromSeconds(60);

    public string NewHolder() => limits.NewHolder();

    public async ValueTask<bool?> TryEnterAsync(IPAddress client, int limit, string holder)
    {
        try { return await limits.TryAcquireAsync("smtpd:conn:" + client, limit, holder, SlotLease).ConfigureAwait(false); }
        catch (ObjectDisposedException) { return null; }
    }

    public async ValueTask LeaveAsync(IPAddress client, string holder)
    {
        try { await limits.ReleaseAsync("smtpd:conn:" + client, holder).ConfigureAwait(false); }
        catch (ObjectDisposedException) { }
    }

    public async ValueTask<long?> HitAsync(IPAddress client, Anvil.Event e, int limit, TimeSpan window)
    {
        var name = e switch
        {
            Anvil.Event.Connection => "smtpd:conn:",
            Anvil.Event.Message => "smtpd:mail:",
            _ => "smtpd:rcpt:",
        } + client.ToString();
        try
        {
            return await limits.HitAsync(name, limit, window).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // A session that outlived a reload which replaced the store: count per node.
            return null;
        }
    }
}
