// Typed, validated snapshot of the main.cf parameters the MTA uses (names as in man 5 postconf,
// in PascalCase). Built once from a MainCf (after any master.cf -o overrides); values come from
// trusted config but are range-checked, and errors name the parameter and where it was set.
namespace Postfix.Core.Config;

public sealed class MailSettings
{
    public required MainCf Source { get; init; }

    public required string MyHostname { get; init; }
    public required string MyDomain { get; init; }
    public required string MyOrigin { get; init; }
    public required string MailName { get; init; }
    public required string SmtpdBanner { get; init; }
    public required IReadOnlyList<string> MyDestination { get; init; }
    public required IReadOnlyList<Cidr> MyNetworks { get; init; }
    public required IReadOnlyList<string> InetInterfaces { get; init; }
    public required IReadOnlyList<string> InetProtocols { get; init; }
    public required string QueueDirectory { get; init; }

    public required long MessageSizeLimit { get; init; }
    public required int SmtpdRecipientLimit { get; init; }
    public required int LineLengthLimit { get; init; }
    public required TimeSpan SmtpdTimeout { get; init; }
    public required int SmtpdHardErrorLimit { get; init; }
    public required int SmtpdSoftErrorLimit { get; init; }
    public required TimeSpan SmtpdErrorSleepTime { get; init; }
    public required int SmtpdClientConnectionCountLimit { get; init; }
    public required bool SmtpdForbidBareNewline { get; init; }
    public required bool DisableVrfyCommand { get; init; }
    public required IReadOnlyList<Cidr> SmtpdClientEventLimitExceptions { get; init; }

    public required IReadOnlyList<Cidr> QmqpdAuthorizedClients { get; init; }
    public required TimeSpan QmqpdTimeout { get; init; }
    public required TimeSpan QmqpdErrorDelay { get; init; }
    public required bool QmqpdClientPortLogging { get; init; }

    public required string RecipientDelimiter { get; init; }
    public required string Relayhost { get; init; }
    public required string DefaultTransport { get; init; }
    public required IReadOnlyList<string> DeferTransports { get; init; }
    public required string MaillogFile { get; init; }
    public required string SyslogName { get; init; }

    public required int DefaultDestinationConcurrencyLimit { get; init; }
    public required int InitialDestinationConcurrency { get; init; }
    public required int DefaultDestinationRecipientLimit { get; init; }
    public required int QmgrMessageActiveLimit { get; init; }
    public required TimeSpan MinimalBackoffTime { get; init; }
    public required TimeSpan MaximalBackoffTime { get; init; }
    public required TimeSpan QueueRunDelay { get; init; }
    public required TimeSpan MaximalQueueLifetime { get; init; }
    public required TimeSpan BounceQueueLifetime { get; init; }
    public required TimeSpan DelayWarningTime { get; init; }

    public required TimeSpan SmtpConnectTimeout { get; init; }
    public required TimeSpan SmtpHeloTimeout { get; init; }
    public required TimeSpan SmtpMailTimeout { get; init; }
    public required TimeSpan SmtpRcptTimeout { get; init; }
    public required TimeSpan SmtpDataInitTimeout { get; init; }
    public required TimeSpan SmtpDataXferTimeout { get; init; }
    public required TimeSpan SmtpDataDoneTimeout { get; init; }
    public required TimeSpan SmtpQuitTimeout { get; init; }
    public required string SmtpHeloName { get; init; }
    public required bool SmtpConnectionCacheOnDemand { get; init; }

    public required IReadOnlyList<string> RelayDomains { get; init; }
    public required IReadOnlyList<string> TransportMaps { get; init; }
    public required string DoubleBounceNoticeRecipient { get; init; }
    public required int HopcountLimit { get; init; }
    public required bool AlwaysAddMissingHeaders { get; init; }

    /// <summary>Reads and validates every setting; throws ConfigException naming the parameter
    /// and the file:line where it was set.</summary>
    public static MailSettings From(MainCf main)
    {
        var settings = new MailSettings
        {
            Source = main,
            MyHostname = HostName(main, "myhostname"),
            MyDomain = HostName(main, "mydomain"),
            MyOrigin = NonEmpty(main, "myorigin"),
            MailName = main.Get("mail_name"),
            SmtpdBanner = NonEmpty(main, "smtpd_banner"),
            MyDestination = main.GetList("mydestination"),
            MyNetworks = NetworkList.Parse(main, "mynetworks"),
            InetInterfaces = NonEmptyList(main, "inet_interfaces"),
            InetProtocols = Protocols(main),
            QueueDirectory = QueueDir(main),

            MessageSizeLimit = Long(main, "message_size_limit", 0),
            SmtpdRecipientLimit = Int(main, "smtpd_recipient_limit", 1),
            LineLengthLimit = Int(main, "line_length_limit", 1),
            SmtpdTimeout = Time(main, "smtpd_timeout", 1),
            SmtpdHardErrorLimit = Int(main, "smtpd_hard_error_limit", 1),
            SmtpdSoftErrorLimit = Int(main, "smtpd_soft_error_limit", 0),
            SmtpdErrorSleepTime = Time(main, "smtpd_error_sleep_time", 0),
            SmtpdClientConnectionCountLimit = Int(main, "smtpd_client_connection_count_limit", 0),
            SmtpdForbidBareNewline = ForbidBareNewline(main),
            DisableVrfyCommand = main.GetBool("disable_vrfy_command"),
            SmtpdClientEventLimitExceptions = NetworkList.Parse(main, "smtpd_client_event_limit_exceptions"),

            QmqpdAuthorizedClients = NetworkList.Parse(main, "qmqpd_authorized_clients"),
            QmqpdTimeout = Time(main, "qmqpd_timeout", 1),
            QmqpdErrorDelay = Time(main, "qmqpd_error_delay", 0),
            QmqpdClientPortLogging = main.GetBool("qmqpd_client_port_logging"),

            RecipientDelimiter = main.Get("recipient_delimiter"),
            Relayhost = main.Get("relayhost"),
            DefaultTransport = NonEmpty(main, "default_transport"),
            DeferTransports = main.GetList("defer_transports"),
            MaillogFile = main.Get("maillog_file"),
            SyslogName = NonEmpty(main, "syslog_name"),

            DefaultDestinationConcurrencyLimit = Int(main, "default_destination_concurrency_limit", 0),
            InitialDestinationConcurrency = Int(main, "initial_destination_concurrency", 1),
            DefaultDestinationRecipientLimit = Int(main, "default_destination_recipient_limit", 0),
            QmgrMessageActiveLimit = Int(main, "qmgr_message_active_limit", 1),
            MinimalBackoffTime = Time(main, "minimal_backoff_time", 1),
            MaximalBackoffTime = Time(main, "maximal_backoff_time", 1),
            QueueRunDelay = Time(main, "queue_run_delay", 1),
            MaximalQueueLifetime = Time(main, "maximal_queue_lifetime", 0),
            BounceQueueLifetime = Time(main, "bounce_queue_lifetime", 0),
            DelayWarningTime = Time(main, "delay_warning_time", 0),

            SmtpConnectTimeout = Time(main, "smtp_connect_timeout", 0),
            SmtpHeloTimeout = Time(main, "smtp_helo_timeout", 1),
            SmtpMailTimeout = Time(main, "smtp_mail_timeout", 1),
            SmtpRcptTimeout = Time(main, "smtp_rcpt_timeout", 1),
            SmtpDataInitTimeout = Time(main, "smtp_data_init_timeout", 1),
            SmtpDataXferTimeout = Time(main, "smtp_data_xfer_timeout", 1),
            SmtpDataDoneTimeout = Time(main, "smtp_data_done_timeout", 1),
            SmtpQuitTimeout = Time(main, "smtp_quit_timeout", 1),
            SmtpHeloName = NonEmpty(main, "smtp_helo_name"),
            SmtpConnectionCacheOnDemand = main.GetBool("smtp_connection_cache_on_demand"),

            RelayDomains = main.GetList("relay_domains"),
            TransportMaps = main.GetList("transport_maps"),
            DoubleBounceNoticeRecipient = NonEmpty(main, "2bounce_notice_recipient"),
            HopcountLimit = Int(main, "hopcount_limit", 1),
            AlwaysAddMissingHeaders = main.GetBool("always_add_missing_headers"),
        };

        if (settings.MinimalBackoffTime > settings.MaximalBackoffTime)
        {
            throw main.ErrorFor("minimal_backoff_time", "must not be larger than maximal_backoff_time");
        }

        return settings;
    }

    private static int Int(MainCf main, string name, int min)
    {
        int value = main.GetInt(name);
        return value >= min ? value : throw main.ErrorFor(name, $"value {value} is too small (minimum {min})");
    }

    private static long Long(MainCf main, string name, long min)
    {
        long value = main.GetLong(name);
        return value >= min ? value : throw main.ErrorFor(name, $"value {value} is too small (minimum {min})");
    }

    private static TimeSpan Time(MainCf main, string name, int minSeconds)
    {
        var value = main.GetTime(name);
        return value.TotalSeconds >= minSeconds
            ? value
            : throw main.ErrorFor(name, $"value \"{main.Get(name)}\" is too small (minimum {minSeconds}s)");
    }

    private static string NonEmpty(MainCf main, string name)
    {
        string value = main.Get(name);
        return value.Length > 0 ? value : throw main.ErrorFor(name, "value must not be empty");
    }

    private static IReadOnlyList<string> NonEmptyList(MainCf main, string name)
    {
        var list = main.GetList(name);
        return list.Count > 0 ? list : throw main.ErrorFor(name, "value must not be empty");
    }

    // A DNS-ish name: letters, digits, '-', '.', '_' (Postfix valid_hostname(), lenient on '_').
    private static string HostName(MainCf main, string name)
    {
        string value = NonEmpty(main, name);
        foreach (char c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '.' or '_'))
            {
                throw main.ErrorFor(name, $"bad hostname \"{value}\"");
            }
        }

        return value;
    }

    private static IReadOnlyList<string> Protocols(MainCf main)
    {
        var list = NonEmptyList(main, "inet_protocols");
        foreach (var item in list)
        {
            if (item is not ("all" or "ipv4" or "ipv6"))
            {
                throw main.ErrorFor("inet_protocols", $"unknown protocol \"{item}\" (specify all, ipv4 or ipv6)");
            }
        }

        return list;
    }

    // Postfix >= 3.9 also accepts "normalize" and "reject" (both forbid bare <LF>).
    private static bool ForbidBareNewline(MainCf main)
    {
        string value = main.Get("smtpd_forbid_bare_newline").Trim();
        if (value.Equals("normalize", StringComparison.OrdinalIgnoreCase)
            || value.Equals("reject", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return main.GetBool("smtpd_forbid_bare_newline");
    }

    private static string QueueDir(MainCf main)
    {
        string value = NonEmpty(main, "queue_directory");
        string baseDir = main.ConfigDirectory ?? Directory.GetCurrentDirectory();
        try
        {
            return Path.GetFullPath(value, baseDir);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw main.ErrorFor("queue_directory", $"bad path \"{value}\": {e.Message}");
        }
    }
}
