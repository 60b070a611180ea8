// A unit of delivery work (Postfix: qmgr_entry.c): one message, one
// destination, up to default_destination_recipient_limit recipients.
using Postfix.Core.Queue;

namespace Postfix.Queue.Qmgr;

internal sealed record QmgrEntry(QmgrMessage Job, string Transport, string Nexthop, IReadOnlyList<QueuedRecipient> Recipients);
