// The smtpd(8) view of main.cf: the parameters a session needs, immutable, built
// once per (re)load and swapped atomically; a session keeps the instance it
// started with (postfix reload never changes a running session).
using System.Net;
using System.Text;

namespace Postfix.Protocols.Smtpd;

public sealed record SmtpdSettings
{
    public string MyHostname { get; init; } = "localhost";
    public string Banner { get; init; } = "localhost ESMTP Postfix";
    public long MessageSizeLimit { get; init; } = 10_240_000;
    public int RecipientLimit { get; init; } = 1000;
    /// <summary>smtpd_recipient_overshoot_limit: RCPTs past the recipient limit that are refused without counting as errors.</summary>
    public int RecipientOvershootLimit { get; init; } = 1000;
    public int LineLengthLimit { get; init; } = 2048;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(300);
    public int HardErrorLimit { get; init; } = 20;
    public int SoftErrorLimit { get; init; } = 10;
    /// <summary>smtpd_junk_command_limit: NOOP/VRFY/ETRN/RSET past this count as errors.</summary>
    public int JunkCommandLimit { get; init; } = 100;
    public TimeSpan ErrorSleepTime { get; init; } = TimeSpan.FromSeconds(1);
    public int ClientConnectionCountLimit { get; init; } = 50;
    public bool ForbidBareNewline { get; init; } = true;
    public bool DisableVrfy { get; init; } = true;
    /// <summary>always_add_missing_headers: add Message-Id/Date/From to all mail, not only local.</summary>
    public bool AlwaysAddMissingHeaders { get; init; }
    /// <summary>local_header_rewrite_clients: which SMTP clients count as local submission.</summary>
    public LocalRewriteClients LocalHeaderRewriteClients { get; init; } = LocalRewriteClients.InetInterfaces;
    public string MailName { get; init; } = "Postfix";
    public Func<IPAddress, bool> IsMyNetworks { get; init; } = static a => IPAddress.IsLoopback(a);
    public Func<IPAddress, bool> IsEventLimitException { get; init; } = static a => IPAddress.IsLoopback(a);
    /// <summary>Domains we accept mail for from anyone (mydestination, relay_domains, ...), lower case.</summary>
    public IReadOnlyList<string> AcceptDomains { get; init; } = ["localhost"];

    private byte[][]? _acceptDomainBytes;
    private byte[]? _ehloReply, _greeting, _hostnameBytes;

    public byte[] HostnameBytes => _hostnameBytes ??= Encoding.ASCII.GetBytes(MyHostname);

    public byte[] Greeting => _greeting ??= Encoding.UTF8.GetBytes($"220 {Banner}\r\n");

    public byte[] EhloReply => _ehloReply ??= BuildEhlo();

    private byte[] BuildEhlo()
    {
        var sb = new StringBuilder();
        sb.Append("250-").Append(MyHostname).Append("\r\n");
        sb.Append("250-PIPELINING\r\n");
        sb.Append("250-SIZE");
        if (MessageSizeLimit > 0) sb.Append(' ').Append(MessageSizeLimit);
        sb.Append("\r\n");
        if (!DisableVrfy) sb.Append("250-VRFY\r\n");
        sb.Append("250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>True when the recipient's domain is one we accept for anyone (case-insensitive, no allocation).</summary>
    public bool IsAcceptedDomain(ReadOnlySpan<byte> address)
    {
        int at = address.LastIndexOf((byte)'@');
        if (at < 0) return true; // bare local part: local delivery (postmaster, etc.)
        var domain = address[(at + 1)..];
        if (domain.Length > 0 && domain[^1] == (byte)'.') domain = domain[..^1];
        _acceptDomainBytes ??= AcceptDomains.Select(d => Encoding.UTF8.GetBytes(d.ToLowerInvariant())).ToArray();
        foreach (var d in _acceptDomainBytes)
        {
            if (d.Length > 0 && d[0] == (byte)'.')
            {
                // ".example.com" matches subdomains (Postfix parent_domain_matches_subdomains form)
                if (domain.Length > d.Length && Ascii.EqualsIgnoreCase(domain[^d.Length..], d)) return true;
            }
            else if (Ascii.EqualsIgnoreCase(domain, d)) return true;
        }
        return false;
    }
}

[Flags]
public enum LocalRewriteClients : byte
{
    None = 0,
    InetInterfaces = 1, // permit_inet_interfaces: the client is this host, on the address it connected to
    MyNetworks = 2,     // permit_mynetworks
}
