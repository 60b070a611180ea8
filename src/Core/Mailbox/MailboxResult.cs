// The outcome of one mailbox, maildir or file write, with Postfix's status
// choice (global/mbox_open.c mbox_dsn()): a full file system defers (4.3.0),
// a mailbox over its size limit or quota bounces (5.2.2), anything else
// defers (4.2.0) so that no mail is lost to a transient I/O problem.
using Postfix.Core.Util;

namespace Postfix.Core.Mailbox;

public enum MailboxOutcome : byte
{
    Delivered,
    Deferred,
    Bounced,
}

/// <param name="Reason">Postfix's inner reason, e.g. "cannot open file: Permission denied";
/// callers prepend "cannot update mailbox X for user Y. ".</param>
public readonly record struct MailboxResult(MailboxOutcome Outcome, string Dsn, string Reason)
{
    public static MailboxResult Ok { get; } = new(MailboxOutcome.Delivered, "2.0.0", "");

    public bool Delivered => Outcome == MailboxOutcome.Delivered;

    public static MailboxResult Defer(string dsn, string reason) => new(MailboxOutcome.Deferred, dsn, reason);

    public static MailboxResult Bounce(string dsn, string reason) => new(MailboxOutcome.Bounced, dsn, reason);

    /// <summary>mbox_dsn(): ENOSPC 4.3.0, EDQUOT/EFBIG 5.2.2 (bounce), otherwise 4.2.0.</summary>
    public static MailboxResult FromErrno(int errno, string what) => errno switch
    {
        UnixFile.ENOSPC => Defer("4.3.0", $"{what}: {UnixFile.ErrorText(errno)}"),
        UnixFile.EDQUOT or UnixFile.EFBIG => Bounce("5.2.2", $"{what}: {UnixFile.ErrorText(errno)}"),
        _ => Defer("4.2.0", $"{what}: {(errno > 0 ? UnixFile.ErrorText(errno) : "unknown error")}"),
    };

    public static MailboxResult FromException(Exception e, string what) => e switch
    {
        MailboxLimitException => Bounce("5.2.2", $"{what}: {UnixFile.ErrorText(UnixFile.EFBIG)}"),
        _ when UnixFile.ErrnoOf(e) is > 0 and var n => FromErrno(n, what),
        _ => Defer("4.2.0", $"{what}: {e.Message}"),
    };
}
