// The smtp(8)/lmtp(8) client's view of main.cf: immutable, built once per
// (re)load. Names and defaults follow Postfix's smtp_* parameters
// (postconf(5)); lmtp_* share the defaults. Trusted: comes from the operator.
using System.Net;
using System.Security.Authentication;
using Postfix.Core.Logging;
using Postfix.Protocols.Tls;

namespace Postfix.Protocols.Smtp;

public sealed class SmtpClientSettings
{
    private readonly int? _defaultPort;

    /// <summary>smtp_helo_name / lmtp_lhlo_name ($myhostname).</summary>
    public string HeloName { get; init; } = "localhost";

    /// <summary>smtp_connect_timeout: TCP connection set-up, per address.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>smtp_helo_timeout: greeting banner and EHLO/HELO/LHLO reply.</summary>
    public TimeSpan HeloTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>smtp_mail_timeout.</summary>
    public TimeSpan MailTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>smtp_rcpt_timeout.</summary>
    public TimeSpan RcptTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>smtp_data_init_timeout: the reply to DATA.</summary>
    public TimeSpan DataInitTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>smtp_data_xfer_timeout: each write of message content.</summary>
    public TimeSpan DataXferTimeout { get; init; } = TimeSpan.FromSeconds(180);
    /// <summary>smtp_data_done_timeout: the reply to the final ".".</summary>
    public TimeSpan DataDoneTimeout { get; init; } = TimeSpan.FromSeconds(600);
    /// <summary>smtp_quit_timeout.</summary>
    public TimeSpan QuitTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>smtp_rset_timeout: the RSET sent before a connection is cached.</summary>
    public TimeSpan RsetTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>smtp_connection_cache_on_demand. Without qmgr's backlog signal we read it as
    /// "cache connections after a clean transaction"; false closes every connection.</summary>
    public bool ConnectionCacheOnDemand { get; init; } = true;
    /// <summary>smtp_connection_cache_time_limit: how long an idle cached connection lives.</summary>
    public TimeSpan ConnectionCacheTimeLimit { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>smtp_connection_reuse_time_limit: no reuse of a connection older than this.</summary>
    public TimeSpan ConnectionReuseTimeLimit { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>Bound on idle cached connections over all destinations (Postfix: scache's limit).</summary>
    public int ConnectionCacheLimit { get; init; } = 64;

    /// <summary>Speak LMTP (RFC 2033): LHLO, one end-of-data reply per accepted recipient.</summary>
    public bool Lmtp { get; init; }

    /// <summary>DNS servers to ask (tests); null = the system resolver (/etc/resolv.conf).</summary>
    public IReadOnlyList<IPEndPoint>? DnsServers { get; init; }
    /// <summary>Per-query DNS timeout (the resolver's RES_TIMEOUT role).</summary>
    public TimeSpan DnsTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>25 for smtp, 24 for lmtp, unless set.</summary>
    public int DefaultPort { get => _defaultPort ?? (Lmtp ? 24 : 25); init => _defaultPort = value; }

    /// <summary>smtp_mx_address_limit: addresses tried per delivery.</summary>
    public int MxAddressLimit { get; init; } = 5;
    /// <summary>smtp_mx_session_limit: SMTP sessions (successful connects) per delivery.</summary>
    public int MxSessionLimit { get; init; } = 2;
    /// <summary>smtp_skip_5xx_greeting: a 5xx banner defers and skips to the next host.</summary>
    public bool Skip5xxGreeting { get; init; } = true;

    /// <summary>line_length_limit as applied to server replies: longer lines are truncated.</summary>
    public int MaxReplyLineLength { get; init; } = 2048;
    /// <summary>Lines kept per multi-line reply; later lines are read and dropped.</summary>
    public int MaxReplyLines { get; init; } = 100;

    /// <summary>The maillog, for the TLS summary lines (smtp_tls_loglevel).</summary>
    public Maillog Log { get; init; } = Maillog.Null;

    /// <summary>smtp_tls_security_level (effective).</summary>
    public SmtpTlsLevel TlsLevel { get; init; }
    /// <summary>smtp_tls_protocols: opportunistic (may) sessions.</summary>
    public SslProtocols TlsProtocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;
    /// <summary>smtp_tls_mandatory_protocols: encrypt and higher.</summary>
    public SslProtocols TlsMandatoryProtocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;
    /// <summary>smtp_tls_servername: "" (no SNI), "hostname", "nexthop", or a name.</summary>
    public string TlsServerName { get; init; } = "hostname";
    /// <summary>smtp_tls_CAfile (+ the system store with tls_append_default_CA).</summary>
    public TlsPeerVerifier TlsVerifier { get; init; } = new([], appendDefaultCa: false);
    /// <summary>smtp_tls_verify_cert_match (verify level).</summary>
    public IReadOnlyList<string> TlsVerifyCertMatch { get; init; } = ["hostname"];
    /// <summary>smtp_tls_secure_cert_match (secure level).</summary>
    public IReadOnlyList<string> TlsSecureCertMatch { get; init; } = ["nexthop", "dot-nexthop"];
    /// <summary>smtp_tls_loglevel: 1 logs the handshake summary.</summary>
    public int TlsLogLevel { get; init; }
    /// <summary>smtp_starttls_timeout: bound on the TLS handshake.</summary>
    public TimeSpan StartTlsTimeout { get; init; } = TimeSpan.FromSeconds(300);

    internal string ProtocolName => Lmtp ? "lmtp" : "smtp";
}
