// Log compaction: a message deferred for days would pin the log below it, so
// the space of everything delivered after it could never be truncated. When the
// live messages below a cutoff are few, they are copied forward (record + its
// queue state + its done recipients) and the log is truncated at the cutoff.
// Crash-safe: recovery replays in log order and a later copy of a message
// record replaces the earlier one, followed by its state.
using Postfix.Core.Queue;

namespace Postfix.Queue.Store;

public sealed partial class QueueStore
{
    /// <summary>
    /// Copies live messages below <c>tail - keepBytes</c> forward when they
    /// total at most <paramref name="maxCopyBytes"/>, then truncates. Returns
    /// the number of messages copied.
    /// </summary>
    public async Task<int> CompactAsync(long keepBytes, long maxCopyBytes, CancellationToken ct = default)
    {
        long tail = _log.TailAddress;
        long cutoff = tail - keepBytes;
        if (cutoff <= _log.BeginAddress) return 0;
        // Sum first without a handle per message: with a large deferred queue the
        // answer is usually "too much to copy".
        var below = (Cutoff: cutoff, Bytes: 0L);
        _index.ForEach(ref below, static (ref (long Cutoff, long Bytes) b, in QueueIndex.SlotView v) =>
        {
            if (v.Address < b.Cutoff) b.Bytes += v.Length;
        });
        if (below.Bytes > maxCopyBytes) return 0;
        var old = new List<QueueEntry>();
        foreach (var e in _index.Entries())
            if (e.TryGetRecord(out long a, out _) && a < cutoff) old.Add(e);
        int copied = 0;
        foreach (var e in old)
        {
            if (!e.TryGetRecord(out long from, out int length)) continue;
            var (rec, len) = await _log.ReadAsync(from, length + 64, ct).ConfigureAwait(false);
            if (rec is null || e.State == QueueState.Removed) continue;
            long addr;
            var data = rec.AsMemory(0, len);
            while (!_log.TryEnqueue(data.Span, out addr)) await Task.Yield();
            var state = e.State == QueueState.Active ? QueueState.Incoming : e.State;
            if (state != QueueState.Incoming) AppendState(e.Id, state, e.NotBeforeUnixMs);
            foreach (int i in e.DoneRecipients())
            {
                var r = new RecipientDoneLogEntry(e.Id, i);
                while (!_log.TryEnqueue(r, out _)) await Task.Yield();
            }
            // Removed while we copied: make sure the copy does not resurrect it.
            if (e.State == QueueState.Removed) AppendState(e.Id, QueueState.Removed, 0);
            else e.Address = addr;
            copied++;
        }
        await FlushAsync(ct).ConfigureAwait(false);
        ReclaimSpace();
        return copied;
    }
}
