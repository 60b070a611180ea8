// anvil(8)'s rate counters for smtpd: per client address, how many
// connections, MAIL FROM requests and RCPT TO addresses it made in the
// current anvil_rate_time_unit window (a fixed window, as Postfix's anvil
// counts). Lock-free: Interlocked counters per client, the window rolls with a
// compare-and-swap; an approximate count at the window edge is acceptable, as
// in Postfix. Idle clients are swept so the table stays small.
// With cluster_store set, smtpd counts in the cluster's store instead
// (IClientRateCounter) and uses this table only while the store does not answer.
using System.Collections.Concurrent;
using System.Net;

namespace Postfix.Protocols.Smtpd;

public sealed class Anvil
{
    private sealed class Client
    {
        public long WindowStart;
        public int Connections, Messages, Recipients;
    }

    private readonly ConcurrentDictionary<IPAddress, Client> _clients = new();

    public enum Event : byte { Connection, Message, Recipient }

    /// <summary>Counts one event for the client in the current window; returns the window's count so far.</summary>
    public int Count(IPAddress client, Event e, TimeSpan unit, long nowMs)
    {
        var c = _clients.GetOrAdd(client, static _ => new Client { WindowStart = Environment.TickCount64 });
        long start = Volatile.Read(ref c.WindowStart);
        if (nowMs - start >= (long)unit.TotalMilliseconds && Interlocked.CompareExchange(ref c.WindowStart, nowMs, start) == start)
        {
            Interlocked.Exchange(ref c.Connections, 0);
            Interlocked.Exchange(ref c.Messages, 0);
            Interlocked.Exchange(ref c.Recipients, 0);
        }
        return e switch
        {
            Event.Connection => Interlocked.Increment(ref c.Connections),
            Event.Message => Interlocked.Increment(ref c.Messages),
            _ => Interlocked.Increment(ref c.Recipients),
        };
    }

    /// <summary>Forgets clients whose window ended more than one unit ago.</summary>
    public void Sweep(TimeSpan unit, long nowMs)
    {
        long idle = 2 * (long)unit.TotalMilliseconds;
        foreach (var (ip, c) in _clients)
            if (nowMs - Volatile.Read(ref c.WindowStart) > idle) _clients.TryRemove(new KeyValuePair<IPAddress, Client>(ip, c));
    }

    public int Clients => _clients.Count;
}
