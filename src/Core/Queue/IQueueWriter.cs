// The one narrow interface through which cleanup hands a finished message to the
// queue (Postfix: cleanup writes the queue file, then the 250 goes out). The
// FASTER-backed store in src/Queue implements it; tests may use an in-memory one.
using Postfix.Core.Cleanup;

namespace Postfix.Core.Queue;

public interface IQueueWriter
{
    QueueId NewQueueId();

    /// <summary>
    /// Appends the message and completes only when it is durably committed
    /// (group commit). Throws <see cref="QueueWriteException"/> when it cannot be
    /// committed; the caller answers 4xx, never 250 and never 5xx.
    /// </summary>
    ValueTask CommitAsync(MessageBuilder message, CancellationToken cancellationToken);

    /// <summary>Largest single record the store accepts (sizes the content limit).</summary>
    int MaxRecordSize { get; }
}

public sealed class QueueWriteException(string message, Exception? inner = null) : Exception(message, inner);
