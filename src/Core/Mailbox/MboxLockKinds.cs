// mailbox_delivery_lock / virtual_mailbox_lock values (postconf(5)): how a
// UNIX mailbox is locked while mail is appended. Linux default "fcntl, dotlock".
using Postfix.Core.Config;

namespace Postfix.Core.Mailbox;

[Flags]
public enum MboxLockKinds
{
    None = 0,
    Flock = 1,
    Fcntl = 2,
    Dotlock = 4,
}

public static class MboxLockKindsParser
{
    /// <summary>Parses "fcntl, dotlock"; unknown names are a configuration error naming the parameter.</summary>
    public static MboxLockKinds Parse(MainCf main, string parameter)
    {
        var kinds = MboxLockKinds.None;
        foreach (var item in main.GetList(parameter))
        {
            kinds |= item.ToLowerInvariant() switch
            {
                "flock" => MboxLockKinds.Flock,
                "fcntl" => MboxLockKinds.Fcntl,
                "dotlock" => MboxLockKinds.Dotlock,
                _ => throw main.ErrorFor(parameter, $"unknown mailbox lock method \"{item}\" (specify flock, fcntl or dotlock)"),
            };
        }
        return kinds;
    }
}
