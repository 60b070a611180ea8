// smtpd's DNS questions for reject_rbl_client and reject_unknown_sender_domain
// (Postfix: smtpd_check.c's rbl and unknown-domain checks), answered
// asynchronously so a slow resolver never blocks the socket thread. Resolvers
// are smtp_dns_servers when set (OUR extension; tests use a loopback
// dnsmasq), else the system's. Input: the client address and the sender
// domain, both untrusted, only ever used as query names.
using System.Net;
using System.Net.Sockets;
using DnsClient;
using DnsClient.Protocol;

namespace Postfix.Protocols.Smtpd;

public sealed class SmtpdDns(IReadOnlyList<IPEndPoint>? servers)
{
    private readonly Lazy<LookupClient> _client = new(() =>
    {
        var options = servers is { Count: > 0 }
            ? new LookupClientOptions(servers.Select(e => new NameServer(e)).ToArray())
            : new LookupClientOptions();
        options.Timeout = TimeSpan.FromSeconds(5);
        options.Retries = 1;
        options.UseCache = true;
        options.ThrowDnsErrors = false;
        return new LookupClient(options);
    });

    /// <summary>DNSBL lookup: null when not listed, else the TXT text ("" without one).</summary>
    public async Task<string?> RblAsync(IPAddress client, string domain, CancellationToken ct = default)
    {
        var name = ReverseName(client) + "." + domain.TrimEnd('.');
        var a = await _client.Value.QueryAsync(name, QueryType.A, cancellationToken: ct).ConfigureAwait(false);
        if (a.HasError || !a.Answers.ARecords().Any()) return null;
        var txt = await _client.Value.QueryAsync(name, QueryType.TXT, cancellationToken: ct).ConfigureAwait(false);
        return string.Join(" ", txt.Answers.TxtRecords().SelectMany(t => t.Text));
    }

    /// <summary>reject_unknown_sender_domain: does the domain have an MX, A or AAAA record?</summary>
    public async Task<DomainStatus> DomainAsync(string domain, CancellationToken ct = default)
    {
        if (domain.StartsWith('[')) return DomainStatus.Found; // address literal
        bool tempFail = false;
        foreach (var type in new[] { QueryType.MX, QueryType.A, QueryType.AAAA })
        {
            var r = await _client.Value.QueryAsync(domain, type, cancellationToken: ct).ConfigureAwait(false);
            if (r.HasError)
            {
                if (r.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain) return DomainStatus.NotFound;
                tempFail = true;
                continue;
            }
            if (r.Answers.Count > 0) return DomainStatus.Found;
        }
        return tempFail ? DomainStatus.TempFail : DomainStatus.NotFound;
    }

    /// <summary>1.2.3.4 -> 4.3.2.1; IPv6 as reversed nibbles (RFC 5782).</summary>
    public static string ReverseName(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        var bytes = ip.GetAddressBytes();
        if (ip.AddressFamily == AddressFamily.InterNetwork)
            return string.Join('.', bytes.Reverse().Select(b => b.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return string.Join('.', bytes.Reverse().SelectMany(b => new[] { "0123456789abcdef"[b & 15], "0123456789abcdef"[b >> 4] }));
    }
}
