// Adapts a MessageBuilder to FASTER's ILogEnqueueEntry so the record is
// serialised straight into the log's page: no intermediate byte[].
using FASTER.core;
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;

namespace Postfix.Queue.Store;

internal readonly struct MessageLogEntry(MessageBuilder message, int length) : ILogEnqueueEntry
{
    public int SerializedLength => length;
    public void SerializeTo(Span<byte> dest) => QueueFile.WriteMessage(message, dest);
}

/// <summary>A record already serialised (QueueStore keeps the array for qmgr's first read).</summary>
internal readonly struct RecordLogEntry(byte[] record) : ILogEnqueueEntry
{
    public int SerializedLength => record.Length;
    public void SerializeTo(Span<byte> dest) => record.CopyTo(dest);
}

internal readonly struct StateLogEntry(QueueId id, QueueState state, long notBefore) : ILogEnqueueEntry
{
    public int SerializedLength => QueueFile.StateLength;
    public void SerializeTo(Span<byte> dest) => QueueFile.WriteState(dest, id, state, notBefore);
}

internal readonly struct RecipientDoneLogEntry(QueueId id, int index) : ILogEnqueueEntry
{
    public int SerializedLength => QueueFile.RecipientDoneLength;
    public void SerializeTo(Span<byte> dest) => QueueFile.WriteRecipientDone(dest, id, index);
}
