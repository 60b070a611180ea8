// Loads and validates everything master(8) needs from the config directory
// (-c DIR or MAIL_CONFIG; embedded defaults otherwise): main.cf, master.cf and
// the typed settings for each daemon. Used by start, reload and check, so all
// three report the same file:line errors.
using System.Net;
using System.Net.Sockets;
using Postfix.Core.Cleanup;
using Postfix.Core.Config;
using Postfix.Core.Local;
using Postfix.Core.Pickup;
using Postfix.Core.Rewrite;
using Postfix.Core.Tables;
using Postfix.Core.Virtual;
using Postfix.Protocols.Qmqpd;
using Postfix.Protocols.Smtpd;
using Postfix.Queue.Qmgr;

namespace Postfix.Host.Master;

public sealed record ListenerSpec(string Service, IPEndPoint EndPoint, SmtpdSettings Smtpd);

public sealed record QmqpdListenerSpec(string Service, IPEndPoint EndPoint, QmqpdSettings Qmqpd);

public sealed class MasterConfig
{
    public required MainCf Main { get; init; }
    public required MasterCf Master { get; init; }
    public required MailSettings Settings { get; init; }
    public required IReadOnlyList<ListenerSpec> Listeners { get; init; }
    public IReadOnlyList<QmqpdListenerSpec> QmqpdListeners { get; init; } = [];

    /// <summary>
    /// True when no main.cf exists: the embedded sandbox configuration, which
    /// listens on loopback only and keeps remote mail in the deferred queue
    /// (no DNS lookups, no connections off this host) until the operator sets
    /// relayhost or defer_transports in a main.cf.
    /// </summary>
    public bool Embedded => Main.MainCfPath is null || !File.Exists(Main.MainCfPath);

    public IReadOnlyList<string> DeferTransports => Embedded ? ["smtp", "relay"] : Settings.DeferTransports;

    public QmgrSettings Qmgr => new()
    {
        InitialDestinationConcurrency = Settings.InitialDestinationConcurrency,
        DestinationConcurrencyLimit = Settings.DefaultDestinationConcurrencyLimit,
        DestinationRecipientLimit = Settings.DefaultDestinationRecipientLimit,
        FailedCohortLimit = Math.Max(1, Main.GetInt("default_destination_concurrency_failed_cohort_limit")),
        ProcessLimit = Math.Max(1, Main.GetInt("default_process_limit")),
        MessageActiveLimit = Settings.QmgrMessageActiveLimit,
        MinimalBackoffTime = Settings.MinimalBackoffTime,
        MaximalBackoffTime = Settings.MaximalBackoffTime,
        QueueRunDelay = Settings.QueueRunDelay,
        MaximalQueueLifetime = Settings.MaximalQueueLifetime,
        BounceQueueLifetime = Settings.BounceQueueLifetime,
        DelayWarningTime = Settings.DelayWarningTime,
        DeferTransports = DeferTransports,
    };

    /// <summary>pickup(8) settings when master.cf runs a pickup service (with its -o overrides); null otherwise.</summary>
    public PickupSettings? Pickup
    {
        get
        {
            var svc = Master.Services.FirstOrDefault(s => s.Command == "pickup");
            if (svc is null) return null;
            var s = svc.Overrides.Count > 0 ? MailSettings.From(Main.WithOverrides(svc.Overrides)) : Settings;
            return new PickupSettings
            {
                QueueDirectory = s.QueueDirectory,
                MyHostname = s.MyHostname,
                MyOrigin = s.MyOrigin,
                Canonical = CanonicalForm,
                MessageSizeLimit = s.MessageSizeLimit,
                Wakeup = TimeSpan.FromSeconds(svc.Wakeup > 0 ? svc.Wakeup : 60),
            };
        }
    }

    /// <summary>A domain list parameter (mydestination, relay_domains, ...), parent matching per parent_domain_matches_subdomains.</summary>
    private static DomainList Domains(MainCf main, string parameter) => new(LookupTables.SplitList(main.Get(parameter)),
        main.ConfigDirectory, main.GetList("parent_domain_matches_subdomains").Contains(parameter));

    private DomainList Domains(string parameter) => Domains(Main, parameter);

    public TrivialRewriteResolver Resolver => ResolverOf(Main, Settings);

    private static TrivialRewriteResolver ResolverOf(MainCf main, MailSettings s) => new(Domains(main, "mydestination"),
        Domains(main, "relay_domains"), Domains(main, "virtual_alias_domains"), Domains(main, "virtual_mailbox_domains"),
        s.Relayhost, s.DefaultTransport, main.Get("relay_transport"), main.Get("local_transport"), main.Get("virtual_transport"),
        LookupTables.OpenList(main.Get("transport_maps"), main.ConfigDirectory, TableOptions.FromMainCf(main)));

    /// <summary>A list-of-tables parameter for address lookups (null when empty), with postmap's key folding.</summary>
    private static LookupTableList? Tables(MainCf main, string parameter) =>
        LookupTables.OpenTables(main.Get(parameter), main.ConfigDirectory, TableOptions.FromMainCf(main)) is { Count: > 0 } t ? t : null;

    private LookupTableList? Tables(string parameter) => Tables(Main, parameter);

    /// <summary>trivial-rewrite's canonical form for local submissions.</summary>
    public AddressCanonical CanonicalForm => new(Settings.MyOrigin, Settings.MyDomain,
        Main.GetBool("append_at_myorigin"), Main.GetBool("append_dot_mydomain"));

    /// <summary>cleanup(8)'s address maps; null when none is configured (the common relay case costs nothing).</summary>
    public CleanupMaps? CleanupMaps
    {
        get
        {
            var myDestination = Domains("mydestination");
            var propagate = Main.GetList("propagate_unmatched_extensions");
            var settings = new CleanupMapsSettings
            {
                CanonicalMaps = Tables("canonical_maps"),
                SenderCanonicalMaps = Tables("sender_canonical_maps"),
                RecipientCanonicalMaps = Tables("recipient_canonical_maps"),
                VirtualAliasMaps = Tables("virtual_alias_maps"),
                SenderBccMaps = Tables("sender_bcc_maps"),
                RecipientBccMaps = Tables("recipient_bcc_maps"),
                AlwaysBcc = Main.Get("always_bcc").Trim(),
                RecipientDelimiter = Settings.RecipientDelimiter,
                MyOrigin = Settings.MyOrigin,
                IsLocalDomain = myDestination.Contains,
                PropagateCanonical = propagate.Contains("canonical"),
                PropagateVirtual = propagate.Contains("virtual"),
                VirtualAliasExpansionLimit = Math.Max(1, Main.GetInt("virtual_alias_expansion_limit")),
                VirtualAliasRecursionLimit = Math.Max(1, Main.GetInt("virtual_alias_recursion_limit")),
            };
            return settings.Any ? new CleanupMaps(settings) : null;
        }
    }

    public static MasterConfig Load(string? configDir)
    {
        var main = MainCf.Load(configDir);
        var master = MasterCf.Load(configDir);
        var settings = MailSettings.From(main);
        var listeners = new List<ListenerSpec>();
        var qmqpd = new List<QmqpdListenerSpec>();
        foreach (var svc in master.InetServices)
        {
            if (svc.Command is not ("smtpd" or "qmqpd")) continue;
            if (!MasterCf.TryParseInetListen(svc.Name, out var host, out int port))
                throw new ConfigException($"cannot parse service name \"{svc.Name}\" as [host:]port", master.MasterCfPath, svc.LineNumber);
            var svcMain = svc.Overrides.Count > 0 ? main.WithOverrides(svc.Overrides) : main;
            var svcSettings = svc.Overrides.Count > 0 ? MailSettings.From(svcMain) : settings;
            var smtpd = svc.Command == "smtpd" ? ToSmtpd(svcSettings) : null;
            var qmqp = svc.Command == "qmqpd" ? ToQmqpd(svcSettings) : null;
            IEnumerable<string> addrs = host is not null ? [host] : svcSettings.InetInterfaces;
            foreach (var a in addrs)
                foreach (var ip in ResolveInterface(a, svcSettings.InetProtocols))
                {
                    if (smtpd is not null) listeners.Add(new ListenerSpec(svc.Name, new IPEndPoint(ip, port), smtpd));
                    else qmqpd.Add(new QmqpdListenerSpec(svc.Name, new IPEndPoint(ip, port), qmqp!));
                }
        }
        var cfg = new MasterConfig { Main = main, Master = master, Settings = settings, Listeners = listeners, QmqpdListeners = qmqpd };
        _ = cfg.Resolver;    // opens transport_maps and domain tables: a missing or malformed table
        _ = cfg.CleanupMaps; // is a config error now (start, reload, check), not at first mail
        ValidateFinalDelivery(main, master, settings);
        DeliveryAgents.Check(cfg); // smtp_tls_* values and the CA file, likewise
        Postfix.Cluster.ClusterDestinationLimits.Check(main); // cluster-wide destination limits (OUR), likewise
        return cfg;
    }

    // local(8) and virtual(8) open alias_maps, local_recipient_maps and virtual_*_maps: a missing
    // table or a bad value is reported by start, reload and check, not at the first delivery.
    private static void ValidateFinalDelivery(MainCf main, MasterCf master, MailSettings settings)
    {
        foreach (var svc in master.Services)
        {
            if (svc.Type != MasterServiceType.Unix || svc.Command is not ("local" or "virtual")) continue;
            var m = svc.Overrides.Count > 0 ? main.WithOverrides(svc.Overrides) : main;
            var s = svc.Overrides.Count > 0 ? MailSettings.From(m) : settings;
            if (svc.Command == "local") _ = LocalSettings.From(m, s);
            else _ = VirtualSettings.From(m, s);
        }
    }

    private static IEnumerable<IPAddress> ResolveInterface(string name, IReadOnlyList<string> protocols)
    {
        bool v4 = protocols.Count == 0 || protocols.Any(p => p is "all" or "ipv4");
        bool v6 = protocols.Count == 0 || protocols.Any(p => p is "all" or "ipv6");
        switch (name)
        {
            case "all":
                if (v6 && Socket.OSSupportsIPv6) { yield return IPAddress.IPv6Any; yield break; }
                yield return IPAddress.Any;
                yield break;
            case "loopback-only":
                if (v4) yield return IPAddress.Loopback;
                if (v6 && Socket.OSSupportsIPv6) yield return IPAddress.IPv6Loopback;
                yield break;
            case "localhost":
                yield return IPAddress.Loopback;
                yield break;
        }
        var text = name.Trim('[', ']');
        if (IPAddress.TryParse(text, out var ip)) { yield return ip; yield break; }
        throw new ConfigException($"inet_interfaces: cannot use \"{name}\": give an IP address, \"all\" or \"loopback-only\"");
    }

    private static LocalRewriteClients ParseLocalRewrite(IReadOnlyList<string> items)
    {
        var r = LocalRewriteClients.None;
        foreach (var i in items)
        {
            if (i == "permit_inet_interfaces") r |= LocalRewriteClients.InetInterfaces;
            else if (i == "permit_mynetworks") r |= LocalRewriteClients.MyNetworks;
        }
        return r;
    }

    public static QmqpdSettings ToQmqpd(MailSettings s)
    {
        var authorized = s.QmqpdAuthorizedClients.ToArray();
        var mynetworks = s.MyNetworks.ToArray();
        return new QmqpdSettings
        {
            MyHostname = s.MyHostname,
            MessageSizeLimit = s.MessageSizeLimit,
            LineLengthLimit = s.LineLengthLimit,
            Timeout = s.QmqpdTimeout,
            ErrorDelay = s.QmqpdErrorDelay,
            ClientPortLogging = s.QmqpdClientPortLogging,
            IsAuthorized = a => Array.Exists(authorized, c => c.Contains(a)),
            AlwaysAddMissingHeaders = s.AlwaysAddMissingHeaders,
            LocalHeaderRewriteClients = ParseLocalRewrite(s.Source.GetList("local_header_rewrite_clients")),
            IsMyNetworks = a => Array.Exists(mynetworks, c => c.Contains(a)),
        };
    }

    /// <summary>
    /// reject_unlisted_recipient (smtpd_reject_unlisted_recipient): is the address a known
    /// recipient of its class? A virtual alias makes any address known; then local
    /// (local_recipient_maps), virtual alias domain (no alias: unknown), virtual mailbox
    /// (virtual_mailbox_maps) and relay (relay_recipient_maps, when set). Null when unused.
    /// </summary>
    private static Func<string, string?>? UnlistedRecipientCheck(MainCf main, MailSettings s, SmtpdRestrictions r)
    {
        if (!r.Uses(RestrictionKind.RejectUnlistedRecipient)) return null;
        var resolver = ResolverOf(main, s);
        var local = Core.Local.LocalSettings.RecipientChecker(main, s);
        var (aliases, mailboxes, relayed) = (Tables(main, "virtual_alias_maps"), Tables(main, "virtual_mailbox_maps"), Tables(main, "relay_recipient_maps"));
        var order = new AddressKeyOrder(AddressKeyStrategy.Default, s.RecipientDelimiter,
            d => resolver.IsLocalDomain(System.Text.Encoding.UTF8.GetString(d)));
        var mailboxOrder = new AddressKeyOrder(AddressKeyStrategy.VirtualMailbox, s.RecipientDelimiter);
        static bool Has(LookupTableList? t, AddressKeyOrder o, string a) =>
            t is not null && o.TryFind(t, System.Text.Encoding.UTF8.GetBytes(a), out _, out _);
        return a =>
        {
            if (Has(aliases, order, a)) return null;
            return resolver.Resolve(a).Class switch
            {
                AddressClass.Local => local is null || local(a) ? null : "User unknown in local recipient table",
                AddressClass.VirtualAlias => "User unknown in virtual alias table",
                AddressClass.VirtualMailbox => Has(mailboxes, mailboxOrder, a) ? null : "User unknown in virtual mailbox table",
                AddressClass.Relay => relayed is null || Has(relayed, order, a) ? null : "User unknown in relay recipient table",
                _ => null,
            };
        };
    }

    public static SmtpdSettings ToSmtpd(MailSettings s)
    {
        var restrictions = SmtpdRestrictions.Parse(s.Source.Get, s.Source.ConfigDirectory);
        var mynetworks = s.MyNetworks.ToArray();
        var exceptions = s.SmtpdClientEventLimitExceptions.ToArray();
        var accept = new List<string>();
        accept.AddRange(s.MyDestination);
        accept.AddRange(s.RelayDomains);
        // parent_domain_matches_subdomains includes relay_domains by default: sub.example.com relays too.
        if (s.Source.GetList("parent_domain_matches_subdomains").Contains("relay_domains"))
            accept.AddRange(s.RelayDomains.Where(d => !d.StartsWith('.') && !d.Contains(':')).Select(d => "." + d));
        // Virtual alias and mailbox domains are ours to accept too (plain names; table-backed lists
        // arrive with smtpd's restriction lists).
        accept.AddRange(LookupTables.SplitList(s.Source.Get("virtual_alias_domains")).Where(d => !d.Contains(':')));
        accept.AddRange(LookupTables.SplitList(s.Source.Get("virtual_mailbox_domains")).Where(d => !d.Contains(':')));
        return new SmtpdSettings
        {
            MyHostname = s.MyHostname,
            Banner = s.SmtpdBanner,
            MailName = s.MailName,
            MessageSizeLimit = s.MessageSizeLimit,
            RecipientLimit = s.SmtpdRecipientLimit,
            RecipientOvershootLimit = s.Source.GetInt("smtpd_recipient_overshoot_limit"),
            LineLengthLimit = s.LineLengthLimit,
            Timeout = s.SmtpdTimeout,
            HardErrorLimit = s.SmtpdHardErrorLimit,
            SoftErrorLimit = s.SmtpdSoftErrorLimit,
            JunkCommandLimit = s.Source.GetInt("smtpd_junk_command_limit"),
            ErrorSleepTime = s.SmtpdErrorSleepTime,
            ClientConnectionCountLimit = s.SmtpdClientConnectionCountLimit,
            Restrictions = restrictions,
            DnsServers = DeliveryAgents.ParseServers(s.Source),
            UnlistedRecipient = UnlistedRecipientCheck(s.Source, s, restrictions),
            ClientConnectionRateLimit = s.Source.GetInt("smtpd_client_connection_rate_limit"),
            ClientMessageRateLimit = s.Source.GetInt("smtpd_client_message_rate_limit"),
            ClientRecipientRateLimit = s.Source.GetInt("smtpd_client_recipient_rate_limit"),
            ForbidBareNewline = s.SmtpdForbidBareNewline,
            DisableVrfy = s.DisableVrfyCommand,
            IsMyNetworks = a => Array.Exists(mynetworks, c => c.Contains(a)),
            IsEventLimitException = a => Array.Exists(exceptions, c => c.Contains(a)),
            AcceptDomains = accept.Select(d => d.ToLowerInvariant()).ToArray(),
            AlwaysAddMissingHeaders = s.AlwaysAddMissingHeaders,
            LocalHeaderRewriteClients = ParseLocalRewrite(s.Source.GetList("local_header_rewrite_clients")),
        }.WithTlsAndSasl(s.Source);
    }
}
