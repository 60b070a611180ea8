// virtual(8)'s view of main.cf (man 8 virtual, man 5 postconf): the mailbox
// base, the mailbox/uid/gid tables (opened here, so a missing table is a
// configuration error at start), the minimum uid, the size limit and the
// lock method. Immutable, trusted operator input.
using Postfix.Core.Config;
using Postfix.Core.Local;
using Postfix.Core.Mailbox;
using Postfix.Core.Tables;

namespace Postfix.Core.Virtual;

public sealed record VirtualSettings
{
    public required string MyHostname { get; init; }
    public string RecipientDelimiter { get; init; } = "";
    public string MailboxBase { get; init; } = "";
    public Func<string, string?>? MailboxMaps { get; init; }
    public Func<string, string?>? UidMaps { get; init; }
    public Func<string, string?>? GidMaps { get; init; }
    public int MinimumUid { get; init; } = 100;
    public long MailboxLimit { get; init; } = 51_200_000;
    public MboxLockSettings Lock { get; init; } = MboxLockSettings.Default;
    public bool StrictMailboxOwnership { get; init; } = true;

    public static VirtualSettings From(MainCf main, MailSettings s)
    {
        string baseDir = main.ConfigDirectory ?? Directory.GetCurrentDirectory();
        long limit = main.GetLong("virtual_mailbox_limit");
        if (limit > 0 && limit < s.MessageSizeLimit)
            throw main.ErrorFor("virtual_mailbox_limit", "is smaller than message_size_limit");
        return new VirtualSettings
        {
            MyHostname = s.MyHostname,
            RecipientDelimiter = s.RecipientDelimiter,
            MailboxBase = main.Get("virtual_mailbox_base"),
            MailboxMaps = Open(main, "virtual_mailbox_maps", baseDir),
            UidMaps = Open(main, "virtual_uid_maps", baseDir),
            GidMaps = Open(main, "virtual_gid_maps", baseDir),
            MinimumUid = main.GetInt("virtual_minimum_uid"),
            MailboxLimit = limit,
            Lock = LocalSettings.LockSettings(main, "virtual_mailbox_lock"),
            StrictMailboxOwnership = main.GetBool("strict_mailbox_ownership"),
        };
    }

    // virtual(8) opens tables itself: a "proxy:" prefix is ignored (man 8 virtual, SECURITY).
    private static Func<string, string?>? Open(MainCf main, string name, string baseDir)
    {
        var refs = LookupTables.SplitList(main.Get(name))
            .Select(r => r.StartsWith("proxy:", StringComparison.Ordinal) ? r["proxy:".Length..] : r).ToList();
        if (refs.Count == 0) return null;
        try { return LookupTables.OpenList(string.Join(" ", refs), baseDir); }
        catch (ConfigException e) { throw main.ErrorFor(name, e.Message); }
    }
}
