// A queue for delivery-agent unit tests: what local(8) forwards through
// cleanup lands here, read back exactly as qmgr would read it.
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;

namespace Postfix.Tests.LocalDelivery;

public sealed class CapturingQueue : IQueueWriter
{
    private readonly QueueIdAllocator _ids = new();
    private readonly List<QueuedMessage> _messages = [];

    public IReadOnlyList<QueuedMessage> Messages { get { lock (_messages) return _messages.ToList(); } }

    public bool Fail { get; set; }

    public int MaxRecordSize => 64 << 20;

    public QueueId NewQueueId() => _ids.Next();

    public ValueTask CommitAsync(MessageBuilder message, CancellationToken cancellationToken)
    {
        if (Fail) throw new QueueWriteException("queue file write error (test)");
        var buf = new byte[QueueFile.MessageLength(message)];
        int n = QueueFile.WriteMessage(message, buf);
        if (!QueueFile.TryReadMessage(buf.AsMemory(0, n), out var m) || m is null) throw new InvalidOperationException("unreadable record");
        lock (_messages) _messages.Add(m);
        return ValueTask.CompletedTask;
    }
}
