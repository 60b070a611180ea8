// Built-in default values of the main.cf parameters this MTA knows (postconf -d); see man 5
// postconf. Values are Postfix 3.7 defaults except where noted as OUR default. Only trusted,
// compiled-in text and the machine's own hostname go in here.
using System.Net;

namespace Postfix.Core.Config;

public static class ParameterDefaults
{
    /// <summary>Value of config_directory when no configuration directory is used.</summary>
    public const string EmbeddedConfigDirectory = "(embedded)";

    private static readonly Lazy<string> _machineHostname = new(ComputeHostname);

    // Parameters whose default does not depend on the machine or the config directory.
    private static readonly (string Name, string Value)[] _static =
    [
        ("2bounce_notice_recipient", "postmaster"),
        ("alias_maps", ""),                          // OUR default; Postfix: hash:/etc/aliases, nis:mail.aliases
        ("alias_database", ""),                      // OUR default; Postfix: hash:/etc/aliases
        ("always_add_missing_headers", "no"),
        ("bounce_queue_lifetime", "5d"),
        ("canonical_maps", ""),
        ("command_directory", "/usr/sbin"),
        ("compatibility_level", "3.6"),              // OUR default; Postfix built-in: 0
        ("daemon_directory", "/usr/libexec/postfix"),     // Postfix: set at build time (Debian: /usr/lib/postfix/sbin)
        ("default_destination_concurrency_limit", "20"),
        ("default_destination_recipient_limit", "50"),
        ("default_database_type", "hash"),           // postmap's type for a plain file name (ours: our own hash: format)
        ("default_transport", "smtp"),
        ("defer_transports", ""),
        ("delay_warning_time", "0h"),
        ("disable_vrfy_command", "yes"),             // OUR default; Postfix: no
        ("enable_long_queue_ids", "no"),
        ("fast_flush_domains", ""),                  // OUR default; Postfix: $relay_domains
        ("hopcount_limit", "50"),
        ("in_flow_delay", "1s"),
        ("inet_interfaces", "127.0.0.1"),            // OUR default; Postfix: all
        ("inet_protocols", "all"),
        ("initial_destination_concurrency", "5"),
        ("line_length_limit", "2048"),
        ("local_header_rewrite_clients", "permit_inet_interfaces"),
        // local(8) and virtual(8) delivery (man 8 local, man 8 virtual)
        ("allow_mail_to_commands", "alias, forward"),
        ("allow_mail_to_files", "alias, forward"),
        ("command_execution_directory", ""),
        ("command_expansion_filter", "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        ("command_time_limit", "1000s"),
        ("default_privs", "nobody"),
        ("deliver_lock_attempts", "20"),
        ("deliver_lock_delay", "1s"),
        ("duplicate_filter_limit", "1000"),
        ("export_environment", "TZ MAIL_CONFIG LANG"),
        ("forward_expansion_filter", "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        ("forward_path", "$home/.forward${recipient_delimiter}${extension}, $home/.forward"),
        ("home_mailbox", ""),
        ("local_passwd_file", "/etc/passwd"),        // OUR extension: the passwd(5) file local(8) reads (getpwnam)
        ("local_recipient_maps", "proxy:unix:passwd.byname $alias_maps"),
        ("luser_relay", ""),
        ("mail_spool_directory", "/var/mail"),
        ("mailbox_command", ""),
        ("mailbox_delivery_lock", "fcntl, dotlock"),
        ("mailbox_size_limit", "51200000"),
        ("prepend_delivered_header", "command, file, forward"),
        ("stale_lock_time", "500s"),
        ("strict_mailbox_ownership", "yes"),
        ("virtual_gid_maps", ""),
        ("virtual_mailbox_base", ""),
        ("virtual_mailbox_domains", "$virtual_mailbox_maps"),
        ("virtual_mailbox_limit", "51200000"),
        ("virtual_mailbox_lock", "fcntl, dotlock"),
        ("virtual_mailbox_maps", ""),
        ("virtual_minimum_uid", "100"),
        ("virtual_transport", "virtual"),
        ("virtual_uid_maps", ""),
        ("mail_name", "Postfix"),
        ("mail_owner", "postfix"),
        ("mail_version", "3.7.0-compatible"),          // OUR version string
        ("maillog_file", ""),                        // empty: log to stdout
        ("maximal_backoff_time", "4000s"),
        ("maximal_queue_lifetime", "5d"),
        ("message_size_limit", "10240000"),
        ("meta_directory", "$config_directory"),        // Postfix: set at build time (/etc/postfix)
        ("minimal_backoff_time", "300s"),
        ("mydestination", "$myhostname, localhost.$mydomain, localhost"),
        ("mynetworks", "127.0.0.0/8 [::1]/128"),     // OUR default; Postfix derives it from mynetworks_style
        ("myorigin", "$myhostname"),
        ("notify_classes", "resource, software"),
        ("qmgr_message_active_limit", "20000"),
        ("qmqpd_authorized_clients", ""),            // nobody may use QMQP until listed
        ("qmqpd_client_port_logging", "no"),
        ("qmqpd_error_delay", "1s"),
        ("qmqpd_timeout", "300s"),
        ("queue_directory", "var"),                  // OUR default: relative to the config directory
        ("queue_run_delay", "300s"),
        ("recipient_delimiter", ""),
        ("relay_domains", ""),                       // Postfix: ${{$compatibility_level} <level {2} ? {$mydestination} : {}} (empty at our level 3.6)
        ("relay_transport", "relay"),
        ("local_transport", "local:$myhostname"),
        ("default_process_limit", "100"),
        ("default_destination_concurrency_failed_cohort_limit", "1"),
        ("default_destination_concurrency_positive_feedback", "1"),
        ("default_destination_concurrency_negative_feedback", "1"),
        ("smtp_connection_cache_time_limit", "2s"),
        ("lmtp_connection_cache_time_limit", "2s"),
        ("bounce_size_limit", "50000"),
        ("queue_minfree", "0"),
        ("smtpd_junk_command_limit", "100"),           // Postfix: ${stress?{1}:{100}}
        ("smtp_dns_servers", ""),                    // OUR extension: resolvers for smtp's MX lookups, empty = /etc/resolv.conf
        ("queue_space_reclaim_interval", "10s"),     // OUR extension: how often delivered mail's log space is released
        ("metrics_endpoint", "127.0.0.1:9154"),      // OUR extension: host:port of the Prometheus /metrics endpoint, empty = off
        ("cluster_publish_interval", "10s"),         // OUR extension: how often the master publishes this node's queue summary to the store (key TTL: 3 intervals)
        ("cluster_drain_peers", ""),                 // OUR extension: host:port list that postfix drain hands queued mail to; empty = live nodes from the store
        ("cluster_drain_timeout", "10m"),            // OUR extension: how long postfix drain waits for the queue to empty before it gives up (the master keeps draining)
        ("cluster_drain_concurrency", "10"),         // OUR extension: parallel hand-overs to peers while draining
        ("cluster_store", ""),                       // OUR extension: host:port[, host:port] of the Redis-protocol store shared by the nodes, empty = one node
        ("cluster_node_name", "$myhostname"),        // OUR extension: this node's name in the store (unique per node)
        ("cluster_key_prefix", "postfix:"),          // OUR extension: prefix of every key the nodes keep in the store
        ("cluster_store_timeout", "1s"),             // OUR extension: connect/command time limit for the store; past it a lookup is a temporary failure (250ms lost answers to a cold-started node under a burst of 20 sessions on 2 cores)
        ("default_destination_cluster_concurrency_limit", "0"), // OUR extension: concurrent deliveries to one destination across all nodes, 0 = no limit; $transport_destination_cluster_concurrency_limit overrides
        ("default_destination_cluster_rate_limit", "0"), // OUR extension: deliveries to one destination per cluster_rate_time_unit across all nodes, 0 = no limit; $transport_destination_cluster_rate_limit overrides
        ("cluster_rate_time_unit", "60s"),           // OUR extension: the time unit of the cluster-wide destination rate limits
        ("cluster_destination_limit_maps", ""),      // OUR extension: transport:nexthop or nexthop -> "concurrency=N rate=M", limits for single destinations
        ("relayhost", ""),
        ("smtp_connect_timeout", "30s"),
        ("smtp_connection_cache_on_demand", "yes"),
        ("smtp_data_done_timeout", "600s"),
        ("smtp_data_init_timeout", "120s"),
        ("smtp_data_xfer_timeout", "180s"),
        ("smtp_helo_name", "$myhostname"),
        ("smtp_helo_timeout", "300s"),
        ("smtp_mail_timeout", "300s"),
        ("smtp_quit_timeout", "300s"),
        ("smtp_rcpt_timeout", "300s"),
        ("smtpd_banner", "$myhostname ESMTP $mail_name"),
        ("smtpd_client_connection_count_limit", "50"),
        ("smtpd_client_connection_rate_limit", "0"),
        ("smtpd_client_message_rate_limit", "0"),
        ("smtpd_client_recipient_rate_limit", "0"),
        ("smtpd_client_event_limit_exceptions", "$mynetworks"), // Postfix: ${smtpd_client_connection_limit_exceptions:$mynetworks}
        ("smtpd_client_restrictions", ""),
        ("smtpd_data_restrictions", ""),
        ("smtpd_discard_ehlo_keywords", ""),
        ("smtpd_enforce_tls", "no"),
        ("smtpd_error_sleep_time", "1s"),
        ("smtpd_forbid_bare_newline", "yes"),        // OUR default; Postfix 3.7: no
        ("smtpd_forbid_bare_newline_exclusions", ""), // OUR default; Postfix: $mynetworks
        ("smtpd_hard_error_limit", "20"),            // Postfix: ${stress?{1}:{20}}
        ("smtpd_helo_restrictions", ""),
        ("smtpd_recipient_limit", "1000"),
        ("smtpd_recipient_overshoot_limit", "1000"),
        ("smtpd_recipient_restrictions", ""),
        ("smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination"),
        ("smtpd_sender_restrictions", ""),
        ("smtpd_soft_error_limit", "10"),
        ("smtpd_timeout", "300s"),                   // Postfix: ${stress?{10}:{300}}s
        ("smtpd_tls_security_level", ""),
        ("smtpd_use_tls", "no"),
        ("smtpd_tls_cert_file", ""),
        ("smtpd_tls_key_file", "$smtpd_tls_cert_file"),
        ("smtpd_tls_chain_files", ""),
        ("smtpd_tls_protocols", ">=TLSv1.2"),           // OUR default; Postfix: >=TLSv1 (we never enable TLS < 1.2)
        ("smtpd_tls_mandatory_protocols", ">=TLSv1.2"), // OUR default; Postfix: >=TLSv1 (idem)
        ("smtpd_tls_wrappermode", "no"),
        ("smtpd_tls_loglevel", "0"),
        ("smtpd_tls_received_header", "yes"),        // OUR default; Postfix: no (RFC 8314 4.3 asks MSAs to record TLS in Received:)
        ("smtpd_tls_auth_only", "no"),
        ("smtpd_starttls_timeout", "300s"),          // Postfix: ${stress?{10}:{300}}s
        ("smtpd_sasl_auth_enable", "no"),
        ("smtpd_sasl_type", "cyrus"),                // we implement "table" (OUR) and "dovecot"; cyrus is refused with a config error
        ("smtpd_sasl_path", "smtpd"),                // table: the password file; dovecot: the auth socket
        ("smtpd_sasl_security_options", "noanonymous"),
        ("smtpd_sasl_tls_security_options", "$smtpd_sasl_security_options"),
        ("smtpd_sasl_response_limit", "12288"),
        ("smtpd_sasl_authenticated_header", "no"),
        ("smtpd_client_auth_rate_limit", "0"),
        ("smtpd_client_auth_failure_limit", "10"),   // OUR extension: failed AUTHs per client per anvil_rate_time_unit before 421 + disconnect; 0 = off
        ("anvil_rate_time_unit", "60s"),
        ("smtp_tls_security_level", ""),
        ("smtp_use_tls", "no"),
        ("smtp_enforce_tls", "no"),
        ("smtp_tls_servername", "hostname"),         // OUR default; Postfix: empty = no SNI (servers that pick certificates by name need it)
        ("smtp_tls_CAfile", ""),
        ("tls_append_default_CA", "no"),
        ("smtp_tls_loglevel", "0"),
        ("smtp_tls_protocols", ">=TLSv1.2"),            // OUR default; Postfix: >=TLSv1 (we never enable TLS < 1.2)
        ("smtp_tls_mandatory_protocols", ">=TLSv1.2"),  // OUR default; Postfix: >=TLSv1 (idem)
        ("smtp_starttls_timeout", "300s"),
        ("smtp_tls_verify_cert_match", "hostname"),
        ("smtp_tls_secure_cert_match", "nexthop, dot-nexthop"),
        ("syslog_name", "postfix"),                  // Postfix: ${multi_instance_name?{$multi_instance_name}:{postfix}}
        ("transport_maps", ""),
        ("virtual_alias_maps", ""),                  // Postfix: $virtual_maps
        // cleanup(8) address maps and trivial-rewrite(8) address classes
        ("sender_canonical_maps", ""),
        ("recipient_canonical_maps", ""),
        ("sender_bcc_maps", ""),
        ("recipient_bcc_maps", ""),
        ("always_bcc", ""),
        ("propagate_unmatched_extensions", "canonical, virtual"),
        ("virtual_alias_expansion_limit", "1000"),
        ("virtual_alias_recursion_limit", "1000"),
        ("virtual_alias_domains", "$virtual_alias_maps"),
        ("append_at_myorigin", "yes"),
        ("relay_recipient_maps", ""),
        ("smtpd_reject_unlisted_recipient", "no"),   // OUR default; Postfix: yes (we check local_recipient_maps in local(8) until the sandbox has users)
        ("append_dot_mydomain", "no"),               // Postfix: ${{$compatibility_level} <level {1} ? {yes} : {no}} (no at our level)
        ("enable_original_recipient", "yes"),
        ("parent_domain_matches_subdomains", "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps"),
    ];

    private static readonly HashSet<string> _known = new(BuildNames(), StringComparer.Ordinal);

    /// <summary>Names of all known parameters, sorted ordinally.</summary>
    public static IReadOnlyList<string> Names { get; } = BuildNames();

    /// <summary>The machine's hostname as Postfix's myhostname default: with ".localdomain" appended
    /// when the system name has no dot.</summary>
    public static string MachineHostname => _machineHostname.Value;

    /// <summary>True when <paramref name="name"/> is a built-in parameter.</summary>
    public static bool IsKnown(string name) => _known.Contains(name) || IsPerTransport(name);

    // Per-transport forms of OUR parameters, as Postfix's $transport_destination_concurrency_limit:
    // any master.cf service name followed by one of these suffixes.
    public const string ClusterConcurrencySuffix = "_destination_cluster_concurrency_limit";
    public const string ClusterRateSuffix = "_destination_cluster_rate_limit";
    private static readonly string[] _perTransportSuffixes = [ClusterConcurrencySuffix, ClusterRateSuffix];

    /// <summary>True for "transport_destination_cluster_*_limit" (OUR per-transport overrides).</summary>
    public static bool IsPerTransport(string name)
    {
        foreach (var suffix in _perTransportSuffixes)
            if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>The built-in defaults (raw, unexpanded), for the given config directory (null = none).</summary>
    public static IReadOnlyDictionary<string, string> For(string? configDirectory)
    {
        var table = new Dictionary<string, string>(_static.Length + 4, StringComparer.Ordinal);
        foreach (var (name, value) in _static)
        {
            table[name] = value;
        }

        table["myhostname"] = MachineHostname;
        table["mydomain"] = DomainOf(MachineHostname);
        table["config_directory"] = configDirectory ?? EmbeddedConfigDirectory;
        return table;
    }

    /// <summary>Postfix's mydomain derivation: myhostname minus its first label, or "localdomain".</summary>
    public static string DomainOf(string hostname)
    {
        int dot = hostname.IndexOf('.');
        if (dot < 0 || dot == hostname.Length - 1)
        {
            return "localdomain";
        }

        return hostname[(dot + 1)..];
    }

    private static string ComputeHostname()
    {
        string name;
        try
        {
            name = Dns.GetHostName();
        }
        catch (System.Net.Sockets.SocketException)
        {
            name = "";
        }

        name = name.Trim().TrimEnd('.');
        if (name.Length == 0)
        {
            name = "localhost";
        }

        return name.Contains('.') ? name : name + ".localdomain";
    }

    private static IReadOnlyList<string> BuildNames()
    {
        var names = _static.Select(p => p.Name)
            .Concat(["myhostname", "mydomain", "config_directory"])
            .ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }
}
