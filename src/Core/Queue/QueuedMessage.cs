// A message read back from the queue: what qmgr, the delivery agents, postcat
// and bounce work from. Content is headers + body with CRLF line ends, exactly
// the bytes committed.
namespace Postfix.Core.Queue;

public sealed record QueuedRecipient(int Index, string Address, string Orcpt, DsnNotify Notify);

public sealed record QueuedMessage(
    QueueId Id,
    long ArrivalUnixMs,
    string Sender,
    string EnvId,
    DsnRet Ret,
    BodyType BodyType,
    bool SmtpUtf8,
    string ClientName,
    string ClientAddress,
    string Helo,
    string Protocol,
    IReadOnlyList<QueuedRecipient> Recipients,
    ReadOnlyMemory<byte> Content)
{
    public DateTimeOffset Arrival => DateTimeOffset.FromUnixTimeMilliseconds(ArrivalUnixMs);
}
