// A delivery would grow a mailbox or maildir file past its size limit
// (mailbox_size_limit, virtual_mailbox_limit): Postfix meets this as EFBIG
// from its file size resource limit and bounces with 5.2.2.
// Raised by MailCopy; carries no external input.
namespace Postfix.Core.Mailbox;

public sealed class MailboxLimitException(long limit) : IOException("File too large")
{
    public long Limit { get; } = limit;
}
