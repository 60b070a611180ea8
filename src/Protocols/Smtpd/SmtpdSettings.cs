// The smtpd(8) view of main.cf: the parameters a session needs, immutable, built
// once per (re)load and swapped atomically; a session keeps the instance it
// started with (postfix reload never changes a running session).
using System.Net;
using System.Text;
using Postfix.Protocols.Sasl;
using Postfix.Protocols.Tls;

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
    /// <summary>smtpd_*_restrictions, parsed.</summary>
    public SmtpdRestrictions Restrictions { get; init; } = SmtpdRestrictions.Default;
    /// <summary>reject_unlisted_recipient's question: the reason an address is unknown, or null.</summary>
    public Func<string, string?>? UnlistedRecipient { get; init; }
    /// <summary>Resolvers for the DNS restrictions (smtp_dns_servers); null = the system's.</summary>
    public IReadOnlyList<System.Net.IPEndPoint>? DnsServers { get; init; }
    /// <summary>anvil limits per client and anvil_rate_time_unit (0 = no limit).</summary>
    public int ClientConnectionRateLimit { get; init; }
    public int ClientMessageRateLimit { get; init; }
    public int ClientRecipientRateLimit { get; init; }
    /// <summary>Where those three rates are counted when not (only) here: the cluster's shared
    /// counter when cluster_store is set (wired by the host), null = this process's Anvil.</summary>
    public IClientRateCounter? ClientRates { get; init; }
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

    // --- TLS (smtpd_tls_*) ---
    /// <summary>Effective smtpd_tls_security_level (after smtpd_use_tls / smtpd_enforce_tls).</summary>
    public SmtpdTlsLevel TlsLevel { get; init; }
    /// <summary>Certificate and protocol ranges; null when no certificate is configured (no STARTTLS).</summary>
    public TlsServerContext? Tls { get; init; }
    /// <summary>smtpd_tls_wrappermode: TLS handshake before the greeting (smtps / port 465).</summary>
    public bool TlsWrapperMode { get; init; }
    /// <summary>smtpd_tls_loglevel: 1 logs the handshake summary.</summary>
    public int TlsLogLevel { get; init; }
    /// <summary>smtpd_tls_received_header: protocol and cipher in the Received: header.</summary>
    public bool TlsReceivedHeader { get; init; } = true;
    /// <summary>smtpd_tls_auth_only: no AUTH over plaintext while TLS is optional.</summary>
    public bool TlsAuthOnly { get; init; }
    /// <summary>smtpd_starttls_timeout: bound on the TLS handshake.</summary>
    public TimeSpan StartTlsTimeout { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>STARTTLS is offered (before TLS is active) only with a certificate and level may/encrypt.</summary>
    public bool OffersStartTls => Tls is not null && TlsLevel != SmtpdTlsLevel.None && !TlsWrapperMode;

    /// <summary>Mandatory TLS: the encrypt level, or wrapper mode (Postfix uses the mandatory protocols there too).</summary>
    public bool TlsMandatory => TlsWrapperMode || TlsLevel == SmtpdTlsLevel.Encrypt;

    // --- SASL (smtpd_sasl_*) ---
    /// <summary>The back end when smtpd_sasl_auth_enable = yes; null = AUTH not enabled.</summary>
    public ISaslPasswordVerifier? Sasl { get; init; }
    /// <summary>smtpd_sasl_security_options contains noplaintext: no PLAIN/LOGIN without TLS.</summary>
    public bool SaslNoPlaintext { get; init; }
    /// <summary>smtpd_sasl_tls_security_options contains noplaintext: no PLAIN/LOGIN even with TLS.</summary>
    public bool SaslTlsNoPlaintext { get; init; }
    /// <summary>smtpd_sasl_response_limit: longest AUTH response line (base64 text).</summary>
    public int SaslResponseLimit { get; init; } = 12288;
    /// <summary>smtpd_sasl_authenticated_header: "(Authenticated sender: user)" in Received:.</summary>
    public bool SaslAuthenticatedHeader { get; init; }
    /// <summary>smtpd_client_auth_rate_limit: AUTH commands per client per AnvilRateTimeUnit; 0 = no limit.</summary>
    public int ClientAuthRateLimit { get; init; }
    /// <summary>OUR smtpd_client_auth_failure_limit: failed AUTHs per client per AnvilRateTimeUnit before 421; 0 = no limit.</summary>
    public int ClientAuthFailureLimit { get; init; } = 10;
    /// <summary>anvil_rate_time_unit: the window of the per-client rate limits.</summary>
    public TimeSpan AnvilRateTimeUnit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>AUTH is usable in this state of the session (RFC 4954 with Postfix's smtpd_tls_auth_only).</summary>
    public bool OffersAuth(bool tlsActive) =>
        Sasl is not null && (tlsActive ? !SaslTlsNoPlaintext : !SaslNoPlaintext && !TlsAuthOnly && !TlsMandatory);

    private byte[][]? _acceptDomainBytes;
    private byte[]? _ehloPlain, _ehloTls, _greeting, _hostnameBytes;

    public byte[] HostnameBytes => _hostnameBytes ??= Encoding.ASCII.GetBytes(MyHostname);

    public byte[] Greeting => _greeting ??= Encoding.UTF8.GetBytes($"220 {Banner}\r\n");

    /// <summary>The EHLO reply before TLS (or on a server without TLS).</summary>
    public byte[] EhloReply => _ehloPlain ??= BuildEhlo(tlsActive: false);

    /// <summary>The EHLO reply for a session in TLS: no STARTTLS, AUTH per the TLS options.</summary>
    public byte[] EhloReplyTls => _ehloTls ??= BuildEhlo(tlsActive: true);

    // Postfix's order: PIPELINING SIZE VRFY ETRN STARTTLS AUTH ENHANCEDSTATUSCODES 8BITMIME DSN SMTPUTF8 CHUNKING.
    private byte[] BuildEhlo(bool tlsActive)
    {
        var sb = new StringBuilder();
        sb.Append("250-").Append(MyHostname).Append("\r\n");
        sb.Append("250-PIPELINING\r\n");
        sb.Append("250-SIZE");
        if (MessageSizeLimit > 0) sb.Append(' ').Append(MessageSizeLimit);
        sb.Append("\r\n");
        if (!DisableVrfy) sb.Append("250-VRFY\r\n");
        if (!tlsActive && OffersStartTls) sb.Append("250-STARTTLS\r\n");
        if (OffersAuth(tlsActive)) sb.Append("250-AUTH PLAIN LOGIN\r\n");
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
