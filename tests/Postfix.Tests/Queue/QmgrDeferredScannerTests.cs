// qmgr's deferred scan over the compact index: a deferred message comes back
// once its backoff passes, a flush brings back every deferred message now, and
// repeated scans or flushes hand a message to the active queue only once.
using System.Collections.Concurrent;
using Postfix.Core.Cleanup;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Queue.Qmgr;
using Postfix.Queue.Store;
using Xunit;

namespace Postfix.Tests.Queue;

public sealed class QmgrDeferredScannerTests
{
    /// <summary>First activation: defer for <c>backoffMs</c>; second: remove. Counts activations per message.</summary>
    private sealed class DeferOnce(QueueStore store, Func<Qmgr> qmgr, long backoffMs) : IDeliveryScheduler
    {
        public ConcurrentDictionary<QueueId, int> Activations { get; } = new();

        public void Schedule(QueueEntry entry)
        {
            int n = Activations.AddOrUpdate(entry.Id, 1, (_, v) => v + 1);
            if (n == 1)
            {
                store.SetState(entry, QueueState.Deferred, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + backoffMs);
                qmgr().Deferred.Add(entry);
            }
            else store.Remove(entry);
        }
    }

    private static async Task<List<QueueId>> CommitAsync(QueueStore store, int n)
    {
        using var m = new MessageBuilder(10_240_000);
        var ids = new List<QueueId>();
        for (int i = 0; i < n; i++)
        {
            m.Reset();
            m.QueueId = store.NewQueueId();
            m.SetSender("a@example.org"u8);
            m.AddRecipient("b@example.net"u8, default, 0);
            m.Content.Write("Subject: x\r\n\r\nbody\r\n"u8);
            m.ArrivalUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await store.CommitAsync(m, CancellationToken.None);
            ids.Add(m.QueueId);
        }
        return ids;
    }

    private static async Task WaitUntilAsync(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task DeferredMailComesBackOnceWhenItsBackoffPasses()
    {
        var dir = Directory.CreateTempSubdirectory("qscan-due-").FullName;
        try
        {
            await using var store = await QueueStore.OpenAsync(dir, 10_240_000);
            Qmgr? q = null;
            var sched = new DeferOnce(store, () => q!, backoffMs: 300);
            await using var qmgr = q = new Qmgr(store, Maillog.Null, messageActiveLimit: 7) { Scheduler = sched };
            qmgr.Start();
            var ids = await CommitAsync(store, 200);
            await WaitUntilAsync(() => store.TotalCount == 0, $"{store.TotalCount} messages still queued");
            Assert.All(ids, id => Assert.Equal(2, sched.Activations[id]));
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task ScansAndFlushesHandEachDeferredMessageOverOnce()
    {
        var dir = Directory.CreateTempSubdirectory("qscan-flush-").FullName;
        try
        {
            await using var store = await QueueStore.OpenAsync(dir, 10_240_000);
            var ids = await CommitAsync(store, 300);
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (int i = 0; i < ids.Count; i++)
            {
                Assert.True(store.TryGet(ids[i], out var e));
                // Half due in 200 ms, half in an hour.
                store.SetState(e, QueueState.Deferred, now + (i % 2 == 0 ? 200 : 3_600_000));
            }
            // qmgr's side never activates here: every handed message stays deferred and
            // marked, as while it waits for the active window.
            var handed = new ConcurrentQueue<QueueRef>();
            await using var scanner = new QmgrDeferredScanner(store, handed.Enqueue);
            scanner.Start();
            await WaitUntilAsync(() => handed.Count >= ids.Count / 2, $"{handed.Count} handed");
            // A due message announced again makes the scanner scan again: nothing is handed twice.
            for (int round = 0; round < 3; round++)
            {
                long scans = scanner.Scans;
                Assert.True(store.TryGet(ids[0], out var due));
                scanner.Add(due);
                await WaitUntilAsync(() => scanner.Scans > scans, "no further scan");
            }
            Assert.Equal(ids.Count / 2, handed.Count);
            var flushes = await Task.WhenAll(scanner.FlushAsync(), scanner.FlushAsync(), scanner.FlushAsync());
            // Every flush reports all deferred mail as on its way; each was handed once.
            Assert.All(flushes, n => Assert.Equal(ids.Count, n));
            Assert.Equal(ids.Count, handed.Count);
            Assert.Equal(ids.Count, handed.Distinct().Count());
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    [Fact]
    public void ScanFloorGrowsWithTheQueue()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(10), QmgrDeferredScanner.ScanFloor(0));
        Assert.Equal(TimeSpan.FromMilliseconds(1010), QmgrDeferredScanner.ScanFloor(1_000_000));
    }
}
