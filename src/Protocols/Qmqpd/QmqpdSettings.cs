// The qmqpd(8) view of main.cf (and the service's master.cf -o overrides):
// immutable, built once per (re)load and swapped atomically; a session keeps
// the instance it started with. Built from trusted configuration.
using System.Net;
using Postfix.Protocols.Smtpd;

namespace Postfix.Protocols.Qmqpd;

public sealed record QmqpdSettings
{
    public string MyHostname { get; init; } = "localhost";
    /// <summary>message_size_limit: the message netstring, and content plus envelope (0 = the queue's record limit).</summary>
    public long MessageSizeLimit { get; init; } = 10_240_000;
    /// <summary>line_length_limit: the longest sender or recipient netstring.</summary>
    public int LineLengthLimit { get; init; } = 2048;
    /// <summary>qmqpd_timeout: the deadline per read, refreshed per KB received (a dribbling client still times out).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>qmqpd_error_delay: pause before every negative reply.</summary>
    public TimeSpan ErrorDelay { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>qmqpd_client_port_logging: log "host[address]:port".</summary>
    public bool ClientPortLogging { get; init; }
    /// <summary>qmqpd_authorized_clients: nobody by default (QMQP relays to any destination).</summary>
    public Func<IPAddress, bool> IsAuthorized { get; init; } = static _ => false;
    /// <summary>always_add_missing_headers / local_header_rewrite_clients, as for smtpd clients.</summary>
    public bool AlwaysAddMissingHeaders { get; init; }
    public LocalRewriteClients LocalHeaderRewriteClients { get; init; } = LocalRewriteClients.InetInterfaces;
    public Func<IPAddress, bool> IsMyNetworks { get; init; } = static a => IPAddress.IsLoopback(a);
}
