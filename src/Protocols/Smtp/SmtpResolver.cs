// Next-hop to addresses, as Postfix smtp_addr.c does it (smtp_host_lookup=dns):
// MX records in preference order, equal preferences shuffled, the domain's own
// A/AAAA when there is no MX (RFC 5321 section 5.1), RFC 7505 null MX, and
// [host] / lmtp destinations by A/AAAA only. DNS answers are untrusted input:
// names are taken as DnsClient parsed them, addresses capped by
// smtp_mx_address_limit. "localhost" maps to loopback (RFC 6761) so that a
// bare localhost next hop does not depend on the DNS.
using System.Net;
using System.Net.Sockets;
using DnsClient;
using DnsClient.Protocol;
using Postfix.Core.Delivery;

namespace Postfix.Protocols.Smtp;

internal sealed class SmtpResolver
{
    private readonly Lazy<LookupClient> _client;

    public SmtpResolver(SmtpClientSettings settings)
    {
        _client = new Lazy<LookupClient>(() =>
        {
            var options = settings.DnsServers is { Count: > 0 } servers
                ? new LookupClientOptions(servers.Select(e => new NameServer(e)).ToArray())
                : new LookupClientOptions();
            options.Timeout = settings.DnsTimeout;
            options.Retries = 1;
            options.UseCache = true;
            options.ThrowDnsErrors = false;
            return new LookupClient(options);
        }, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public readonly record struct Result(List<SmtpHostAddress>? Hosts, SmtpOutcome Failure);

    public async Task<Result> ResolveAsync(SmtpNexthop hop, int addressLimit, CancellationToken ct)
    {
        if (hop.Literal != null) return new([new SmtpHostAddress(hop.Literal.ToString(), hop.Literal, hop.Port)], default);
        var hosts = new List<SmtpHostAddress>();
        if (!hop.MxLookup)
        {
            var failure = await AddHostAsync(hosts, hop.Host, hop.Port, 0, addressLimit, ct).ConfigureAwait(false);
            return failure is { } f ? new(null, f) : new(hosts, default);
        }

        var mx = await QueryAsync(hop.Host, QueryType.MX, ct).ConfigureAwait(false);
        if (mx.Failure is { } mxFailure) return new(null, mxFailure);
        var records = mx.Response!.Answers.MxRecords().ToList();
        if (records.Count == 0)
        {
            // No MX: the domain itself is the implicit MX (RFC 5321 section 5.1).
            var failure = await AddHostAsync(hosts, hop.Host, hop.Port, 0, addressLimit, ct).ConfigureAwait(false);
            return failure is { } f ? new(null, f) : new(hosts, default);
        }
        // RFC 7505: a lone "MX 0 ." says the domain takes no mail; a root exchange among real
        // ones is just skipped.
        if (records.Count == 1 && IsRoot(records[0].Exchange))
            return new(null, SmtpOutcome.Failure("5.1.0", $"Domain {hop.Host} does not accept mail (nullMX)"));
        records.RemoveAll(r => IsRoot(r.Exchange));

        SmtpOutcome? last = null;
        foreach (var r in OrderByPreference(records))
        {
            if (hosts.Count >= addressLimit) break;
            var name = r.Exchange.Value.TrimEnd('.');
            last = await AddHostAsync(hosts, name, hop.Port, r.Preference, addressLimit, ct).ConfigureAwait(false) ?? last;
        }
        if (hosts.Count > 0) return new(hosts, default);
        return new(null, last ?? NotFound(hop.Host, "A", soft: true));
    }

    private static bool IsRoot(DnsString exchange) => exchange.Value is "." or "";

    // Lowest preference first; equal preferences in random order to spread load (smtp_addr.c).
    private static IEnumerable<MxRecord> OrderByPreference(List<MxRecord> records)
    {
        var shuffled = records.ToArray();
        Random.Shared.Shuffle(shuffled);
        return shuffled.OrderBy(r => r.Preference);
    }

    // Adds name's addresses (IPv4, then IPv6); returns the failure when it has none.
    private async Task<SmtpOutcome?> AddHostAsync(List<SmtpHostAddress> hosts, string name, int port, int preference,
        int addressLimit, CancellationToken ct)
    {
        if (IsLocalhost(name))
        {
            hosts.Add(new SmtpHostAddress(name, IPAddress.Loopback, port, preference));
            return null;
        }
        var a = await QueryAsync(name, QueryType.A, ct).ConfigureAwait(false);
        var aaaa = Socket.OSSupportsIPv6 ? await QueryAsync(name, QueryType.AAAA, ct).ConfigureAwait(false) : default;
        int before = hosts.Count;
        if (a.Response != null)
            foreach (var r in a.Response.Answers.ARecords())
                if (hosts.Count < addressLimit) hosts.Add(new SmtpHostAddress(name, r.Address, port, preference));
        if (aaaa.Response != null)
            foreach (var r in aaaa.Response.Answers.AaaaRecords())
                if (hosts.Count < addressLimit) hosts.Add(new SmtpHostAddress(name, r.Address, port, preference));
        if (hosts.Count > before) return null;
        if (a.Failure is { IsSoft: true } || aaaa.Failure is { IsSoft: true }) return NotFound(name, "A", soft: true);
        if (a.Failure is { } hard) return hard;
        return SmtpOutcome.Failure("5.4.4", $"Host or domain name not found. Name service error for name={name} type=A: Host found but no data record of requested type");
    }

    private readonly record struct Answer(IDnsQueryResponse? Response, SmtpOutcome? Failure);

    private async Task<Answer> QueryAsync(string name, QueryType type, CancellationToken ct)
    {
        IDnsQueryResponse response;
        try
        {
            response = await _client.Value.QueryAsync(name, type, QueryClass.IN, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            // Timeouts, unreachable servers, a resolver that cannot be configured: try again later.
            return new(null, NotFound(name, type.ToString(), soft: true));
        }
        if (!response.HasError) return new(response, null);
        return response.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain
            ? new(null, NotFound(name, type.ToString(), soft: false))
            : new(null, NotFound(name, type.ToString(), soft: true));
    }

    private static SmtpOutcome NotFound(string name, string type, bool soft) => soft
        ? new SmtpOutcome(DeliveryStatus.Deferred, "4.4.3", $"Host or domain name not found. Name service error for name={name} type={type}: Host not found, try again")
        : new SmtpOutcome(DeliveryStatus.Bounced, "5.4.4", $"Host or domain name not found. Name service error for name={name} type={type}: Host not found");

    private static bool IsLocalhost(string name) =>
        name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);
}
