// smtpd's anvil rates across the cluster (our extension): implements Protocols'
// IClientRateCounter over ClusterLimits' sliding window, one key per client address and event
// (prefix + "rate:smtpd:conn|mail|rcpt:ADDR"), so a client's connections, MAIL FROM requests
// and RCPT TO addresses are counted once for all nodes and all their smtpd services. The window
// is anvil_rate_time_unit, sliding and exact (Postfix's anvil counts per process in fixed
// windows). Refused events are not recorded. Null when the store cannot answer (StoreHealth
// logs the transition once): smtpd then counts in its own Anvil until the store answers again.
// Input: the client address from the socket (untrusted only as key material).
using System.Net;
using Postfix.Protocols.Smtpd;

namespace Postfix.Cluster;

public sealed class ClusterClientRates(ClusterLimits limits) : IClientRateCounter
{
    public ClusterLimits Limits => limits;

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
