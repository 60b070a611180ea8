// Whose rights a mailbox, maildir or /file delivery uses (Postfix local(8)
// "DELIVERY RIGHTS", virtual(8) "MAILBOX OWNERSHIP"): a uid/gid pair that the
// file operations assume while they run. Only root can change identity; any
// other process delivers as itself and the pair is ignored (so the agents and
// their tests also run unprivileged). Values come from passwd data or trusted maps.
namespace Postfix.Core.Mailbox;

public readonly record struct DeliveryRights(int Uid, int Gid)
{
    /// <summary>"Whatever this process is": no identity change.</summary>
    public static DeliveryRights Process { get; } = new(-1, -1);

    public bool IsProcess => Uid < 0;

    /// <summary>True when file operations will actually run as another user.</summary>
    public bool Switches => !IsProcess && Util.UnixFile.IsRoot && (Uid != 0 || Gid != 0);

    public override string ToString() => IsProcess ? "(process)" : $"{Uid}:{Gid}";
}
