// The smtp(8) / lmtp(8) delivery agent: one message, one next hop, a batch of
// recipients. Resolves the next hop (MX or A/AAAA, Postfix smtp_addr.c), tries
// addresses in order as smtp_connect.c does (next address on a connection
// failure, a 4xx greeting or any soft failure, up to smtp_mx_address_limit
// addresses and smtp_mx_session_limit sessions), runs the transaction and
// answers per recipient. Clean connections are RSET and cached per next hop.
// One instance serves all of qmgr's concurrent deliveries: per-delivery state
// lives on the call; the resolver and the cache are thread-safe.
using System.Diagnostics;
using System.Net.Sockets;
using Postfix.Core.Delivery;

namespace Postfix.Protocols.Smtp;

public sealed class SmtpDeliveryAgent : IDeliveryAgent, IAsyncDisposable
{
    private readonly SmtpClientSettings _settings;
    private readonly SmtpResolver _resolver;
    private readonly SmtpConnectionCache _cache;

    public SmtpDeliveryAgent(SmtpClientSettings settings)
    {
        _settings = settings;
        _resolver = new SmtpResolver(settings);
        _cache = new SmtpConnectionCache(settings);
    }

    public SmtpClientSettings Settings => _settings;

    /// <summary>DNS, connect, TLS and the dialogue are all awaited; no table lookups.</summary>
    public bool NeverBlocks => true;

    /// <summary>Idle connections currently cached (tests, status).</summary>
    public int CachedConnections => _cache.Count;

    public async ValueTask<DeliveryReport> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        var s = _settings;
        var clock = Stopwatch.StartNew();
        var timing = new Timing();
        var state = new SmtpDeliveryState(request);
        string relay = "none";
        if (request.Recipients.Count == 0) return new DeliveryReport([], relay, TimeSpan.Zero, TimeSpan.Zero);

        if (!SmtpNexthop.TryParse(request.Nexthop, s.DefaultPort, s.Lmtp, out var hop, out var error))
        {
            state.BeginSession(finalServer: true);
            state.DecideAllOpen(SmtpOutcome.Failure("4.3.5", error));
            return new DeliveryReport(state.Results(), relay, clock.Elapsed, TimeSpan.Zero);
        }
        string key = hop.CacheKey;

        // A cached connection to this next hop carries the message as the only server tried;
        // if it turns out dead before answering anything, fall through to a fresh connection.
        if (s.ConnectionCacheOnDemand && _cache.Take(key) is { } cached)
        {
            state.BeginSession(finalServer: true);
            var end = await UseAsync(cached, state, key, hop.Host, reused: true, clock, timing, cancellationToken).ConfigureAwait(false);
            if (end != SmtpTransactionEnd.RetryFresh)
                return new DeliveryReport(state.Results(), cached.NamAddrPort, timing.Connect, timing.Transmit);
        }

        var resolved = await _resolver.ResolveAsync(hop, s.MxAddressLimit, cancellationToken).ConfigureAwait(false);
        if (resolved.Hosts is not { Count: > 0 } hosts)
        {
            state.BeginSession(finalServer: true);
            state.DecideAllOpen(resolved.Failure);
            return new DeliveryReport(state.Results(), relay, clock.Elapsed, TimeSpan.Zero);
        }

        int sessions = 0;
        for (int h = 0; h < hosts.Count && state.AnyPending; h++)
        {
            var host = hosts[h];
            bool last = h == hosts.Count - 1;
            SmtpConnection c;
            try
            {
                c = await SmtpConnection.ConnectAsync(host, s, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                state.BeginSession(finalServer: last);
                state.DecideAllOpen(SmtpOutcome.Failure("4.4.1",
                    $"connect to {host.Name}[{host.Address}]:{host.Port}: {ConnectError(e)}"));
                continue;
            }
            sessions++;
            state.BeginSession(finalServer: last || sessions >= s.MxSessionLimit);
            relay = c.NamAddrPort;
            await UseAsync(c, state, key, hop.Host, reused: false, clock, timing, cancellationToken).ConfigureAwait(false);
            if (sessions >= s.MxSessionLimit) break;
        }
        if (timing.Connect == TimeSpan.Zero) timing.Connect = clock.Elapsed;
        return new DeliveryReport(state.Results(), relay, timing.Connect, timing.Transmit);
    }

    private sealed class Timing
    {
        public TimeSpan Connect;
        public TimeSpan Transmit;
    }

    // Handshake (fresh connections), transaction, then cache or close. Owns c from here on.
    private async ValueTask<SmtpTransactionEnd> UseAsync(SmtpConnection c, SmtpDeliveryState state, string key,
        string nexthop, bool reused, Stopwatch clock, Timing timing, CancellationToken ct)
    {
        var s = _settings;
        c.Begin(ct);
        bool keep = false;
        try
        {
            if (!reused && !await SmtpHandshake.RunAsync(c, state, s, nexthop).ConfigureAwait(false))
            {
                timing.Connect = clock.Elapsed;
                return SmtpTransactionEnd.Broken;
            }
            timing.Connect = clock.Elapsed;
            var end = await SmtpTransaction.RunAsync(c, state, s, reused).ConfigureAwait(false);
            timing.Transmit = clock.Elapsed - timing.Connect;
            // TLS sessions are not cached (Postfix: smtp_tls_connection_reuse = no).
            if (s.ConnectionCacheOnDemand && c.Tls is null)
            {
                if (end == SmtpTransactionEnd.Clean) keep = true;
                else if (end == SmtpTransactionEnd.Reusable) keep = await ResetAsync(c).ConfigureAwait(false);
            }
            if (end == SmtpTransactionEnd.RetryFresh) c.Broken = true;
            return end;
        }
        finally
        {
            c.End();
            if (keep) _cache.Put(key, c);
            else if (c.Broken || ct.IsCancellationRequested) await c.DisposeAsync().ConfigureAwait(false);
            else await c.QuitAsync(s.QuitTimeout).ConfigureAwait(false);
        }
    }

    // "sending final RSET": a 2xx makes the connection fit for the next message.
    private async ValueTask<bool> ResetAsync(SmtpConnection c)
    {
        try
        {
            c.AppendCommand("RSET");
            await c.FlushCommandsAsync(_settings.RsetTimeout).ConfigureAwait(false);
            return (await c.ReadReplyAsync(_settings.RsetTimeout).ConfigureAwait(false)).Class == 2;
        }
        catch (SmtpTransportException)
        {
            return false;
        }
    }

    private static string ConnectError(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "Connection refused",
        SocketError.TimedOut => "Connection timed out",
        SocketError.NetworkUnreachable => "Network is unreachable",
        SocketError.HostUnreachable => "No route to host",
        SocketError.AddressNotAvailable => "Cannot assign requested address",
        _ => e.Message,
    };

    public ValueTask DisposeAsync() => _cache.DisposeAsync();
}
