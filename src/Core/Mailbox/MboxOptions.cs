// How one UNIX mailbox append is done: as whom, whose ownership it checks or
// sets, how it locks, and how large the file may become (local(8) mailbox and
// /file deliveries, virtual(8) mailboxes).
// Built from trusted configuration and passwd data.
namespace Postfix.Core.Mailbox;

public sealed record MboxOptions
{
    /// <summary>Identity for lock, open and write (the recipient, or root for a protected spool).</summary>
    public DeliveryRights Rights { get; init; } = DeliveryRights.Process;

    /// <summary>When set (root only), a newly created mailbox is given to this uid/gid.</summary>
    public DeliveryRights? ChownNew { get; init; }

    /// <summary>strict_mailbox_ownership: defer unless the file belongs to this uid (checked as root only).</summary>
    public int? RequiredOwner { get; init; }

    public MboxLockSettings Lock { get; init; } = MboxLockSettings.Default;

    /// <summary>A dot-lock that cannot be created for lack of permission is skipped (/file deliveries).</summary>
    public bool DotlockMayFail { get; init; }

    /// <summary>Largest file size a delivery may produce (mailbox_size_limit); 0 = no limit.</summary>
    public long SizeLimit { get; init; }
}
