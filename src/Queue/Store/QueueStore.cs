// The mail queue on a FASTER log (Postfix: the queue directory + cleanup's
// queue-file write + qmgr's view of it). One append-only log holds message
// records and small state records; an in-memory index (QueueIndex: 40 bytes a
// message, no object per message) maps queue IDs to log addresses and states.
// Durability is group commit: every session appends, then waits for the
// committer loop, which runs one FASTER commit for everyone who appended
// since the last one. A 250 is sent only after that commit completed. State and
// "recipient done" records, which nobody waits for, ride on the next commit and
// get one of their own only after QueueCommitter.LazyDelay (a queue file rename
// in Postfix is not synchronous either): under load they cost no write. qmgr's
// first read of a just-committed message takes the record from memory (_fresh)
// instead of reading back from the log file what was written a moment ago.
// Recovery replays the log from its begin address on start.
using System.Collections.Concurrent;
using FASTER.core;
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;

namespace Postfix.Queue.Store;

public sealed partial class QueueStore : IQueueWriter, IAsyncDisposable
{
    private readonly FasterLog _log;
    private readonly IDevice _device;
    private readonly QueueIndex _index = new();
    private readonly QueueIdAllocator _ids = new();
    private readonly QueueCommitter _committer;
    private readonly long[] _counts = new long[8];
    private long _minLiveHint;
    private readonly ConcurrentDictionary<long, long> _inflight = new();
    // Just-committed records, handed to the first reader (qmgr, right after the commit) so it
    // need not read back from the log file what it wrote a millisecond ago. Bounded: a record
    // over FreshMaxRecord, or one that would take the total over FreshBudget (qmgr falling
    // behind), is read from the log as before. Removal drops the copy.
    private readonly ConcurrentDictionary<long, byte[]> _fresh = new();
    private long _freshBytes;
    internal const int FreshMaxRecord = 256 * 1024;
    internal const long FreshBudget = 32L * 1024 * 1024;

    /// <summary>Tests: records waiting in memory for their first read, and their bytes.</summary>
    internal (int Count, long Bytes) Fresh => (_fresh.Count, Interlocked.Read(ref _freshBytes));

    /// <summary>Tests only: runs between a message's commit and its indexing (the race window).</summary>
    internal Func<QueueId, Task>? AfterCommitBeforeIndex { get; set; }
    private long _inflightSeq;

    public string Directory { get; }
    public int MaxRecordSize { get; }
    public int RecoveredCount { get; private set; }

    /// <summary>Raised after a message is durably committed (qmgr's "incoming" wakeup).</summary>
    public event Action<QueueEntry, CommittedInfo>? Committed;

    private QueueStore(string directory, FasterLog log, IDevice device, int maxRecord, TimeSpan commitTimeout)
    {
        Directory = directory;
        _log = log;
        _device = device;
        MaxRecordSize = maxRecord;
        _committer = new QueueCommitter(log, commitTimeout);
    }

    /// <summary>
    /// Opens (creating if needed) the queue under <paramref name="queueDirectory"/>/log and
    /// recovers every message committed before the last stop or crash.
    /// </summary>
    public static Task<QueueStore> OpenAsync(string queueDirectory, long messageSizeLimit,
        IProgress<string>? progress = null, CancellationToken ct = default) =>
        OpenAsync(queueDirectory, messageSizeLimit, progress, RecoveryProgressRecords, ct);

    /// <summary>Recovery reports progress every this many log records...</summary>
    public const long RecoveryProgressRecords = 100_000;
    /// <summary>...or after this long since the last report, whichever comes first.</summary>
    public static readonly TimeSpan RecoveryProgressInterval = TimeSpan.FromSeconds(2);

    /// <summary>Tests: <paramref name="progressEveryRecords"/> shows the periodic reports on a small queue.</summary>
    internal static async Task<QueueStore> OpenAsync(string queueDirectory, long messageSizeLimit,
        IProgress<string>? progress, long progressEveryRecords, CancellationToken ct)
    {
        var logDir = Path.Combine(queueDirectory, "log");
        System.IO.Directory.CreateDirectory(logDir);
        int pageBits = QueueLayout.LoadOrCreatePageBits(logDir, messageSizeLimit);
        var device = Devices.CreateLogDevice(Path.Combine(logDir, "hlog.log"), preallocateFile: false);
        var settings = new FasterLogSettings
        {
            LogDevice = device,
            LogCommitDir = logDir,
            // Fast commit keeps each commit record in the log itself; recovery scans
            // forward from the last metadata file. Writing that file on every commit
            // would double the synchronous writes per group commit, so only every
            // 1000th commit (and forced ones) writes it.
            LogCommitManager = new DeviceLogCommitCheckpointManager(new LocalStorageNamedDeviceFactory(),
                new DefaultCheckpointNamingScheme(logDir), removeOutdated: true, fastCommitThrottleFreq: 1000),
            PageSizeBits = pageBits,
            MemorySizeBits = pageBits + 2,
            SegmentSizeBits = Math.Max(28, pageBits + 1),
            FastCommitMode = true,
            AutoRefreshSafeTailAddress = false,
            TryRecoverLatest = true,
            RemoveOutdatedCommits = true,
        };
        var log = await FasterLog.CreateAsync(settings, ct).ConfigureAwait(false);
        int maxRecord = (1 << pageBits) - 64;
        var store = new QueueStore(queueDirectory, log, device, maxRecord, TimeSpan.FromSeconds(60));
        store.Recover(progress, Math.Max(1, progressEveryRecords));
        store._committer.Start();
        return store;
    }

    public long BeginAddress => _log.BeginAddress;
    public long TailAddress => _log.TailAddress;
    public long CommittedUntilAddress => _log.CommittedUntilAddress;

    public QueueId NewQueueId() => _ids.Next();

    public long Count(QueueState state) => Volatile.Read(ref _counts[(int)state]);
    public long TotalCount => _index.Count;

    /// <summary>The compact index (qmgr's scans, footprint figures).</summary>
    public QueueIndex Index => _index;

    /// <summary>A handle per queued message, made as the caller iterates (admin paths).</summary>
    public IEnumerable<QueueEntry> Entries => _index.Entries();

    public bool TryGet(QueueId id, out QueueEntry entry) => _index.TryGet(id, out entry);

    public bool TryGet(QueueRef r, out QueueEntry entry) => _index.TryGet(r, out entry);

    public async ValueTask CommitAsync(MessageBuilder message, CancellationToken cancellationToken)
    {
        int length = QueueFile.MessageLength(message);
        if (length > MaxRecordSize)
            throw new QueueWriteException($"message record of {length} bytes exceeds the queue's record limit {MaxRecordSize}");
        byte[]? fresh = null;
        if (length <= FreshMaxRecord)
        {
            if (Interlocked.Add(ref _freshBytes, length) <= FreshBudget)
            {
                fresh = GC.AllocateUninitializedArray<byte>(length);
                QueueFile.WriteMessage(message, fresh);
            }
            else Interlocked.Add(ref _freshBytes, -length);
        }
        // Until it is indexed, this message is invisible to ReclaimSpace: register a
        // floor (the tail before our append, so at or below our address) that keeps
        // the log from being truncated above it. Without it, a message committed but
        // not yet indexed could be truncated away by a later message's address.
        long token = Interlocked.Increment(ref _inflightSeq);
        _inflight[token] = _log.TailAddress;
        try
        {
            long address;
            try
            {
                address = fresh is not null
                    ? await EnqueueAsync(new RecordLogEntry(fresh), cancellationToken).ConfigureAwait(false)
                    : await EnqueueAsync(new MessageLogEntry(message, length), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new QueueWriteException("queue file write error", e);
            }
            await _committer.WaitForCommitAsync(address + 1, cancellationToken).ConfigureAwait(false);
            if (AfterCommitBeforeIndex is { } hook) await hook(message.QueueId).ConfigureAwait(false);
            // Index only after durability: qmgr and postqueue never see an uncommitted message.
            var qe = _index.Add(message.QueueId, address, length, message.ArrivalUnixMs);
            if (fresh is not null)
            {
                _fresh[message.QueueId.Value] = fresh;
                fresh = null;
            }
            Interlocked.Increment(ref _counts[(int)QueueState.Incoming]);
            Committed?.Invoke(qe, new CommittedInfo(message.SenderString(), message.ContentLength, message.RecipientCount));
        }
        finally
        {
            _inflight.TryRemove(token, out _);
            if (fresh is not null) Interlocked.Add(ref _freshBytes, -fresh.Length);
        }
    }

    private ValueTask<long> EnqueueAsync<T>(T entry, CancellationToken ct) where T : ILogEnqueueEntry =>
        _log.TryEnqueue(entry, out long address) ? new(address) : _log.EnqueueAsync(entry, ct);

    /// <summary>Takes the in-memory copy of a just-committed record, if it is still kept.</summary>
    private bool TryTakeFresh(QueueId id, out byte[] record)
    {
        if (!_fresh.TryRemove(id.Value, out record!)) return false;
        Interlocked.Add(ref _freshBytes, -record.Length);
        return true;
    }

    /// <summary>Moves a message to another queue. The state record rides on the next group commit.
    /// A removed message stays removed, and a held one leaves hold only by removal or
    /// <see cref="TryMove"/>: a delivery attempt that ends after postsuper -d or -h must
    /// not bring the message back (Postfix: qmgr's rename fails once postsuper moved the file).</summary>
    public void SetState(QueueEntry entry, QueueState state, long notBeforeUnixMs = 0) =>
        Move(entry, null, state, notBeforeUnixMs);

    /// <summary>Moves a message only if it is still in <paramref name="from"/> (postsuper: qmgr may
    /// move it meanwhile); false when it was not. The way out of hold besides removal.</summary>
    public bool TryMove(QueueEntry entry, QueueState from, QueueState to, long notBeforeUnixMs = 0) =>
        Move(entry, from, to, notBeforeUnixMs);

    private bool Move(QueueEntry entry, QueueState? from, QueueState state, long notBeforeUnixMs)
    {
        QueueState old;
        do
        {
            old = entry.State;
            if (from is { } f && old != f) return false;
            if (old == QueueState.Removed) return false;
            if (old == QueueState.Hold && from is null && state != QueueState.Removed) return false;
            if (old == state && entry.NotBeforeUnixMs == notBeforeUnixMs) return true;
        }
        // State first, record second: compaction relies on seeing Removed before
        // the Removed record can precede its copy (see QueueStore.Compaction.cs).
        while (!entry.TryMove(old, state));
        entry.NotBeforeUnixMs = notBeforeUnixMs;
        // "active" is not persisted: recovery puts active mail back into incoming anyway.
        if (state != QueueState.Active) AppendState(entry.Id, state, notBeforeUnixMs);
        Interlocked.Decrement(ref _counts[(int)old]);
        if (state == QueueState.Removed)
        {
            TryTakeFresh(entry.Id, out _);
            _index.Free(entry);
        }
        else
        {
            Interlocked.Increment(ref _counts[(int)state]);
        }
        return true;
    }

    public void Remove(QueueEntry entry) => SetState(entry, QueueState.Removed);

    /// <summary>Records that a recipient needs no further delivery; rides on the next group commit.</summary>
    public void MarkRecipientDone(QueueEntry entry, int index)
    {
        entry.MarkRecipientDone(index);
        var rec = new RecipientDoneLogEntry(entry.Id, index);
        while (!_log.TryEnqueue(rec, out _)) Thread.Yield();
        _committer.RequestLazyCommit();
    }

    private void AppendState(QueueId id, QueueState state, long notBefore)
    {
        var rec = new StateLogEntry(id, state, notBefore);
        while (!_log.TryEnqueue(rec, out _)) Thread.Yield();
        _committer.RequestLazyCommit();
    }

    /// <summary>Reads a message's record back from the log (memory or disk).</summary>
    public async ValueTask<QueuedMessage?> ReadAsync(QueueEntry entry, CancellationToken ct = default)
    {
        // Below the begin address the record is gone (truncated): never ask FASTER for it.
        if (!entry.TryGetRecord(out long address, out int recordLength) || address < _log.BeginAddress) return null;
        if (TryTakeFresh(entry.Id, out var fresh))
            return QueueFile.TryReadMessage(fresh, out var fm) ? fm : null;
        var (bytes, length) = await _log.ReadAsync(address, recordLength + 64, ct).ConfigureAwait(false);
        if (bytes is null) return null;
        return QueueFile.TryReadMessage(bytes.AsMemory(0, length), out var m) ? m : null;
    }

    /// <summary>Waits until everything appended so far (state records included) is durable.</summary>
    public Task FlushAsync(CancellationToken ct = default) =>
        _committer.WaitForCommitAsync(_log.TailAddress, ct).AsTask();

    /// <summary>Reclaims log space below the oldest message still queued (takes effect at the next commit).</summary>
    public long ReclaimSpace()
    {
        long tail = _log.TailAddress;
        long minFloor = tail, minIndexed = tail;
        foreach (var floor in _inflight.Values)
            if (floor < minFloor) minFloor = floor;
        _index.ForEach(ref minIndexed, static (ref long min, in QueueIndex.SlotView v) =>
        {
            if (v.Address < min) min = v.Address;
        });
        long min = Math.Min(minFloor, minIndexed);
        if (min > _minLiveHint && min > _log.BeginAddress)
        {
            _minLiveHint = min;
            // A queued message's address is a record start, a valid truncation point;
            // an in-flight floor or the tail may not be: cut at the page start below
            // it instead, which is always valid (FASTER #915 notes).
            if (minIndexed < minFloor) _log.TruncateUntil(minIndexed);
            else _log.TruncateUntilPageStart(min);
            _committer.RequestCommit();
        }
        return min;
    }

    /// <summary>
    /// Replays the log into the index. A large queue takes a while: progress goes out
    /// every <paramref name="everyRecords"/> records or <see cref="RecoveryProgressInterval"/>,
    /// whichever comes first, then one final count, so an operator watching the maillog
    /// of a starting master sees it is working and how far it got.
    /// </summary>
    private void Recover(IProgress<string>? progress, long everyRecords)
    {
        long begin = _log.BeginAddress, end = _log.TailAddress;
        using var iter = _log.Scan(begin, end);
        long records = 0, lastReport = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var nextReportAt = RecoveryProgressInterval;
        if (progress != null && end > begin)
            progress.Report($"queue recovery: replaying {(end - begin) / 1024} KB of queue log");
        while (iter.GetNext(out byte[] rec, out int len, out long addr))
        {
            records++;
            if (progress != null && (records - lastReport >= everyRecords || clock.Elapsed >= nextReportAt))
            {
                lastReport = records;
                nextReportAt = clock.Elapsed + RecoveryProgressInterval;
                progress.Report($"queue recovery: {records} records, {_index.Count} messages, {(addr - begin) * 100 / Math.Max(1, end - begin)}%");
            }
            var span = rec.AsSpan(0, len);
            if (!QueueFile.TryPeek(span, out byte kind, out var id)) continue;
            _ids.Observe(id);
            if (kind == QueueFile.KindMessage)
            {
                long arrival = BitConverter.ToInt64(rec, 10);
                // A later copy (compaction) replaces the earlier one, state and done recipients included.
                if (_index.TryGet(id, out var earlier)) _index.Free(earlier);
                _index.Add(id, addr, len, arrival);
            }
            else if (kind == QueueFile.KindRecipientDone)
            {
                if (QueueFile.TryReadRecipientDone(span, out int index) && _index.TryGet(id, out var re))
                    re.MarkRecipientDone(index);
            }
            else if (QueueFile.TryReadState(span, out _, out var state, out long notBefore)
                     && _index.TryGet(id, out var e))
            {
                if (state == QueueState.Removed) _index.Free(e);
                else { e.State = state; e.NotBeforeUnixMs = notBefore; }
            }
        }
        foreach (var e in _index.Entries())
        {
            // A message that was being delivered when we stopped goes back to
            // incoming (Postfix: active queue files are requeued on qmgr start).
            if (e.State == QueueState.Active) e.State = QueueState.Incoming;
            _counts[(int)e.State]++;
        }
        RecoveredCount = _index.Count;
        progress?.Report(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"queue recovery: done, {RecoveredCount} messages from {records} records in {clock.Elapsed.TotalSeconds:0.0}s"));
    }

    public async ValueTask DisposeAsync()
    {
        await _committer.StopAsync().ConfigureAwait(false);
        _log.Dispose();
        _device.Dispose();
    }
}
