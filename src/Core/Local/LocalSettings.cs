// local(8)'s view of main.cf (man 8 local, man 5 postconf): built once per
// configuration load, immutable. forward_path, luser_relay and
// command_execution_directory stay raw: they are expanded per recipient with
// $user, $home, ... (LocalExpand), not with main.cf parameters, as in Postfix.
// alias_maps and local_recipient_maps are opened here, so a missing table is
// a configuration error at start, not at the first delivery. Trusted input.
using Postfix.Core.Config;
using Postfix.Core.Mailbox;
using Postfix.Core.Tables;

namespace Postfix.Core.Local;

public sealed record LocalSettings
{
    public required string MyHostname { get; init; }
    public required string MyOrigin { get; init; }
    public string MailName { get; init; } = "Postfix";
    public string RecipientDelimiter { get; init; } = "";
    public string QueueDirectory { get; init; } = "/";
    public long MessageSizeLimit { get; init; } = 10_240_000;
    public int LineLengthLimit { get; init; } = 2048;

    /// <summary>alias_maps, first match wins; null = no aliases.</summary>
    public Func<string, string?>? AliasMaps { get; init; }

    /// <summary>local_recipient_maps: each entry answers "is this a known local recipient?"; empty = no check.</summary>
    public IReadOnlyList<Func<string, bool>> LocalRecipientMaps { get; init; } = [];

    public required PasswdTable Passwd { get; init; }

    public string ForwardPath { get; init; } = "$home/.forward${recipient_delimiter}${extension}, $home/.forward";
    public string LuserRelay { get; init; } = "";
    public string MailboxCommand { get; init; } = "";
    public string CommandExecutionDirectory { get; init; } = "";
    public string HomeMailbox { get; init; } = "";
    public string MailSpoolDirectory { get; init; } = "/var/mail";

    public LocalExpansionType AllowMailToCommands { get; init; } = LocalExpansionType.Alias | LocalExpansionType.Forward;
    public LocalExpansionType AllowMailToFiles { get; init; } = LocalExpansionType.Alias | LocalExpansionType.Forward;

    public TimeSpan CommandTimeLimit { get; init; } = TimeSpan.FromSeconds(1000);
    public string CommandExpansionFilter { get; init; } = DefaultFilter;
    public string ForwardExpansionFilter { get; init; } = DefaultFilter;
    public IReadOnlyList<string> ExportEnvironment { get; init; } = ["TZ", "MAIL_CONFIG", "LANG"];
    public string DefaultPrivs { get; init; } = "nobody";

    public long MailboxSizeLimit { get; init; } = 51_200_000;
    public MboxLockSettings Lock { get; init; } = MboxLockSettings.Default;
    public bool StrictMailboxOwnership { get; init; } = true;

    /// <summary>prepend_delivered_header: contexts that get Delivered-To (mailbox deliveries count as "file").</summary>
    public bool DeliveredToCommand { get; init; } = true;
    public bool DeliveredToFile { get; init; } = true;
    public bool DeliveredToForward { get; init; } = true;

    public int DuplicateFilterLimit { get; init; } = 1000;

    public const string DefaultFilter = "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    /// <summary>Reads local(8)'s parameters; throws ConfigException naming the parameter.</summary>
    public static LocalSettings From(MainCf main, MailSettings s)
    {
        string baseDir = main.ConfigDirectory ?? Directory.GetCurrentDirectory();
        var passwd = new PasswdTable(Path.GetFullPath(main.Get("local_passwd_file"), baseDir));
        var prepend = main.GetList("prepend_delivered_header");
        foreach (var p in prepend)
            if (p is not ("command" or "file" or "forward"))
                throw main.ErrorFor("prepend_delivered_header", $"unknown delivery context \"{p}\" (specify command, file or forward)");
        long mailboxLimit = main.GetLong("mailbox_size_limit");
        if (mailboxLimit > 0 && mailboxLimit < s.MessageSizeLimit)
            throw main.ErrorFor("mailbox_size_limit", "is smaller than message_size_limit");
        return new LocalSettings
        {
            MyHostname = s.MyHostname,
            MyOrigin = s.MyOrigin,
            MailName = s.MailName,
            RecipientDelimiter = s.RecipientDelimiter,
            QueueDirectory = s.QueueDirectory,
            MessageSizeLimit = s.MessageSizeLimit,
            LineLengthLimit = s.LineLengthLimit,
            AliasMaps = OpenMaps(main, "alias_maps", baseDir),
            LocalRecipientMaps = OpenRecipientMaps(main, passwd, baseDir),
            Passwd = passwd,
            ForwardPath = main.GetRaw("forward_path"),
            LuserRelay = main.GetRaw("luser_relay"),
            MailboxCommand = main.GetRaw("mailbox_command"),
            CommandExecutionDirectory = main.GetRaw("command_execution_directory"),
            HomeMailbox = main.Get("home_mailbox"),
            MailSpoolDirectory = main.Get("mail_spool_directory"),
            AllowMailToCommands = ExpansionTypes(main, "allow_mail_to_commands"),
            AllowMailToFiles = ExpansionTypes(main, "allow_mail_to_files"),
            CommandTimeLimit = Positive(main, "command_time_limit"),
            CommandExpansionFilter = main.Get("command_expansion_filter"),
            ForwardExpansionFilter = main.Get("forward_expansion_filter"),
            ExportEnvironment = main.GetList("export_environment"),
            DefaultPrivs = main.Get("default_privs"),
            MailboxSizeLimit = mailboxLimit,
            Lock = LockSettings(main, "mailbox_delivery_lock"),
            StrictMailboxOwnership = main.GetBool("strict_mailbox_ownership"),
            DeliveredToCommand = prepend.Contains("command"),
            DeliveredToFile = prepend.Contains("file"),
            DeliveredToForward = prepend.Contains("forward"),
            DuplicateFilterLimit = Math.Max(1, main.GetInt("duplicate_filter_limit")),
        };
    }

    /// <summary>deliver_lock_attempts, deliver_lock_delay, stale_lock_time with the given lock method parameter.</summary>
    public static MboxLockSettings LockSettings(MainCf main, string lockParameter) => new(
        MboxLockKindsParser.Parse(main, lockParameter),
        Math.Max(1, main.GetInt("deliver_lock_attempts")),
        main.GetTime("deliver_lock_delay"),
        main.GetTime("stale_lock_time"));

    private static TimeSpan Positive(MainCf main, string name)
    {
        var t = main.GetTime(name);
        return t > TimeSpan.Zero ? t : throw main.ErrorFor(name, "must be greater than zero");
    }

    private static LocalExpansionType ExpansionTypes(MainCf main, string name)
    {
        var r = LocalExpansionType.None;
        foreach (var item in main.GetList(name))
        {
            r |= item switch
            {
                "alias" => LocalExpansionType.Alias,
                "forward" => LocalExpansionType.Forward,
                "include" => LocalExpansionType.Include,
                _ => throw main.ErrorFor(name, $"unknown expansion type \"{item}\" (specify alias, forward or include)"),
            };
        }
        return r;
    }

    // local(8) opens tables itself: a "proxy:" prefix is silently ignored (man 8 local, SECURITY).
    private static string Unproxy(string reference) =>
        reference.StartsWith("proxy:", StringComparison.Ordinal) ? reference["proxy:".Length..] : reference;

    private static Func<string, string?>? OpenMaps(MainCf main, string name, string baseDir)
    {
        var refs = LookupTables.SplitList(main.Get(name)).Select(Unproxy).ToList();
        if (refs.Count == 0) return null;
        try { return LookupTables.OpenList(string.Join(" ", refs), baseDir); }
        catch (ConfigException e) { throw main.ErrorFor(name, e.Message); }
    }

    /// <summary>
    /// local_recipient_maps as one question for smtpd's reject_unlisted_recipient: is this
    /// local address known (keys: address, address without +ext, localpart, user)? Null when
    /// the parameter is empty (every local name is accepted, as in Postfix).
    /// </summary>
    public static Func<string, bool>? RecipientChecker(MainCf main, MailSettings s)
    {
        var maps = From(main, s).LocalRecipientMaps;
        if (maps.Count == 0) return null;
        var delimiters = s.RecipientDelimiter.ToCharArray();
        return address =>
        {
            var full = address.ToLowerInvariant();
            int at = full.LastIndexOf('@');
            var local = at < 0 ? full : full[..at];
            var domain = at < 0 ? "" : full[(at + 1)..];
            int d = delimiters.Length > 0 ? local.IndexOfAny(delimiters) : -1;
            var user = d > 0 ? local[..d] : local;
            string[] keys = d > 0 ? [full, $"{user}@{domain}", local, user] : [full, local];
            foreach (var map in maps)
                foreach (var key in keys)
                    if (map(key)) return true;
            return false;
        };
    }

    private static List<Func<string, bool>> OpenRecipientMaps(MainCf main, PasswdTable passwd, string baseDir)
    {
        var result = new List<Func<string, bool>>();
        foreach (var raw in LookupTables.SplitList(main.Get("local_recipient_maps")))
        {
            var reference = Unproxy(raw);
            if (reference == "unix:passwd.byname")
            {
                result.Add(key => passwd.ByName(key) is not null);
                continue;
            }
            try
            {
                var table = LookupTables.Open(reference, baseDir);
                result.Add(key => table.Lookup(key) is not null);
            }
            catch (ConfigException e) { throw main.ErrorFor("local_recipient_maps", e.Message); }
        }
        return result;
    }
}
