// The compact queue index (QueueIndex): no object per queued message, a
// bounded number of bytes per entry, stale handles that never touch a reused
// slot, done recipients that survive deferral, activation and restart, and a
// restart that rebuilds the same listing for deferred, held and active mail.
using System.Runtime.CompilerServices;
using Postfix.Core.Cleanup;
using Postfix.Core.Delivery;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Core.Rewrite;
using Postfix.Queue.Qmgr;
using Postfix.Queue.Store;
using Xunit;

namespace Postfix.Tests.Queue;

public sealed class QueueIndexTests
{
    [Fact]
    public void SlotIsFortyBytesWithoutReferences()
    {
        Assert.Equal(40, Unsafe.SizeOf<QueueSlot>());
        Assert.False(RuntimeHelpers.IsReferenceOrContainsReferences<QueueSlot>());
    }

    [Fact]
    public void IndexCostsUnderSixtyFourBytesPerMessage()
    {
        var index = new QueueIndex();
        const int n = 300_000;
        for (int i = 1; i <= n; i++) index.Add(new QueueId(i), i * 4096L, 4000, 1000 + i, QueueState.Deferred);
        Assert.Equal(n, index.Count);
        double perMessage = (double)index.FootprintBytes / n;
        Assert.True(perMessage < 64, $"{perMessage:0.0} bytes per queued message");
    }

    [Fact]
    public void IndexKeepsNoObjectForAQueuedMessage()
    {
        var index = new QueueIndex();
        var weak = AddAndForget(index, new QueueId(42));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.IsAlive, "the index kept the QueueEntry handle alive");
        // The message is still queued: a lookup makes a new handle from the slot.
        Assert.True(index.TryGet(new QueueId(42), out var again));
        Assert.Equal(QueueState.Deferred, again.State);
        Assert.Equal(123L, again.NotBeforeUnixMs);
        Assert.Equal(8192L, again.Address);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AddAndForget(QueueIndex index, QueueId id)
    {
        var e = index.Add(id, 8192, 100, 5, QueueState.Incoming);
        Assert.True(e.TryMove(QueueState.Incoming, QueueState.Deferred));
        e.NotBeforeUnixMs = 123;
        return new WeakReference(e);
    }

    [Fact]
    public void StaleHandleNeverTouchesTheMessageThatReusedItsSlot()
    {
        var index = new QueueIndex();
        var old = index.Add(new QueueId(1), 100, 10, 1, QueueState.Deferred);
        Assert.True(old.TryMove(QueueState.Deferred, QueueState.Removed));
        index.Free(old);
        var fresh = index.Add(new QueueId(2), 200, 20, 2, QueueState.Deferred);
        Assert.Equal(old.Slot, fresh.Slot);
        Assert.Equal(QueueState.Removed, old.State);
        Assert.False(old.TryMove(QueueState.Deferred, QueueState.Active));
        old.NotBeforeUnixMs = 999;
        old.DelayWarned = true;
        Assert.Equal(0L, old.Address);
        Assert.False(index.TryGet(old.Ref, out _));
        Assert.Equal(QueueState.Deferred, fresh.State);
        Assert.Equal(0L, fresh.NotBeforeUnixMs);
        Assert.False(fresh.DelayWarned);
        Assert.Equal(200L, fresh.Address);
        Assert.False(index.TryGet(new QueueId(1), out _));
    }

    [Fact]
    public void LookupsMatchAModelThroughAddsAndRemovals()
    {
        var index = new QueueIndex();
        var model = new Dictionary<long, QueueEntry>();
        var rng = new Random(7);
        for (int step = 0; step < 60_000; step++)
        {
            // Sequential-looking IDs, as the allocator makes them, plus some scattered ones.
            long id = rng.Next(4) == 0 ? rng.NextInt64(1, long.MaxValue) : ((long)(step / 3) << 20) | (long)(step % 3);
            if (id == 0) continue;
            if (model.Count > 0 && rng.Next(3) == 0)
            {
                var victim = model.Values.ElementAt(rng.Next(model.Count));
                Assert.True(victim.TryMove(victim.State, QueueState.Removed));
                index.Free(victim);
                model.Remove(victim.Id.Value);
            }
            else if (!model.ContainsKey(id))
            {
                model[id] = index.Add(new QueueId(id), id, 1, 1, QueueState.Incoming);
            }
        }
        Assert.Equal(model.Count, index.Count);
        foreach (var (id, e) in model)
        {
            Assert.True(index.TryGet(new QueueId(id), out var found), $"{id:X} missing");
            Assert.Equal(e.Slot, found.Slot);
        }
        Assert.Equal(model.Count, index.Entries().Count());
    }

    [Fact]
    public async Task DoneRecipientsSurviveTheHandleAndARestart()
    {
        var dir = Directory.CreateTempSubdirectory("qindex-done-").FullName;
        try
        {
            QueueId id;
            await using (var store = await QueueStore.OpenAsync(dir, 10_240_000))
            {
                using var m = new MessageBuilder(10_240_000);
                Fill(m, store, 3);
                await store.CommitAsync(m, CancellationToken.None);
                id = m.QueueId;
                Assert.True(store.TryGet(id, out var e));
                store.MarkRecipientDone(e, 1);
                store.SetState(e, QueueState.Deferred, 777);
                Assert.True(store.TryGet(id, out var again));
                Assert.False(again.IsRecipientDone(0));
                Assert.True(again.IsRecipientDone(1));
                Assert.False(again.IsRecipientDone(2));
                await store.FlushAsync();
            }
            await using var reopened = await QueueStore.OpenAsync(dir, 10_240_000);
            Assert.True(reopened.TryGet(id, out var r));
            Assert.Equal(QueueState.Deferred, r.State);
            Assert.Equal(777L, r.NotBeforeUnixMs);
            Assert.True(r.IsRecipientDone(1));
            Assert.False(r.IsRecipientDone(0));
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task RestartRebuildsTheSameListingForDeferredHeldAndActiveMail()
    {
        var dir = Directory.CreateTempSubdirectory("qindex-restart-").FullName;
        try
        {
            List<(QueueId, QueueState, long, long, int)> before;
            await using (var store = await QueueStore.OpenAsync(dir, 10_240_000))
            {
                using var m = new MessageBuilder(10_240_000);
                var ids = new List<QueueId>();
                for (int i = 0; i < 40; i++)
                {
                    Fill(m, store, 1 + i % 3);
                    await store.CommitAsync(m, CancellationToken.None);
                    ids.Add(m.QueueId);
                }
                for (int i = 0; i < ids.Count; i++)
                {
                    Assert.True(store.TryGet(ids[i], out var e));
                    switch (i % 5)
                    {
                        case 0: store.SetState(e, QueueState.Deferred, 1_000_000 + i); break;
                        case 1: store.SetState(e, QueueState.Hold); break;
                        case 2: Assert.True(store.TryMove(e, QueueState.Incoming, QueueState.Active)); break;
                        case 3: store.Remove(e); break;
                        default: break; // stays incoming
                    }
                    if (i % 5 == 0 && i % 3 != 0) store.MarkRecipientDone(e, 0);
                }
                before = Listing(store, active: QueueState.Incoming);
                Assert.Equal(32, before.Count);
                Assert.Equal(8L, store.Count(QueueState.Active));
                await store.FlushAsync();
            }
            await using var again = await QueueStore.OpenAsync(dir, 10_240_000);
            // Active mail comes back as incoming (Postfix requeues active files on start).
            Assert.Equal(before, Listing(again, active: null));
            Assert.Equal(8L, again.Count(QueueState.Deferred));
            Assert.Equal(8L, again.Count(QueueState.Hold));
            Assert.Equal(16L, again.Count(QueueState.Incoming));
            Assert.Equal(0L, again.Count(QueueState.Active));
            foreach (var e in again.Entries) Assert.NotNull(await again.ReadAsync(e));
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static List<(QueueId, QueueState, long, long, int)> Listing(QueueStore store, QueueState? active) =>
        store.Entries.Select(e => (e.Id, e.State == QueueState.Active && active is { } a ? a : e.State, e.NotBeforeUnixMs, e.ArrivalUnixMs,
                Enumerable.Range(0, 3).Count(e.IsRecipientDone)))
            .OrderBy(t => t.Id).ToList();

    [Fact]
    public async Task PartialDeliveryDeferRetryKeepsDoneRecipientsDone()
    {
        var dir = Directory.CreateTempSubdirectory("qindex-retry-").FullName;
        try
        {
            await using var store = await QueueStore.OpenAsync(dir, 10_240_000);
            var agent = new SecondTimeLucky();
            await using var qmgr = new Qmgr(store, Maillog.Null, 100);
            var settings = new QmgrSettings
            {
                MinimalBackoffTime = TimeSpan.FromMilliseconds(300),
                MaximalBackoffTime = TimeSpan.FromMilliseconds(300),
            };
            var resolver = new TrivialRewriteResolver([], [], "", "smtp");
            qmgr.Scheduler = new QmgrScheduler(store, Maillog.Null, settings, resolver,
                new Dictionary<string, IDeliveryAgent> { ["smtp"] = agent }, null, qmgr.Deferred.Add);
            qmgr.Start();
            using var m = new MessageBuilder(10_240_000);
            m.Reset();
            m.QueueId = store.NewQueueId();
            m.SetSender("a@example.org"u8);
            m.AddRecipient("ok@x.example"u8, default, 0);
            m.AddRecipient("later@x.example"u8, default, 0);
            m.AddRecipient("ok2@y.example"u8, default, 0);
            m.Content.Write("Subject: retry\r\n\r\nbody\r\n"u8);
            m.ArrivalUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(); // young: deferred, not expired
            await store.CommitAsync(m, CancellationToken.None);
            var id = m.QueueId;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (store.TryGet(id, out _) && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.False(store.TryGet(id, out _), "message still queued after its retry");
            // First attempt: all three; the retry after the backoff: only the deferred one.
            var calls = agent.Calls.ToList();
            Assert.True(calls.Count == 3, string.Join(" | ", calls.Select(c => string.Join(",", c))));
            Assert.Equal(new[] { "later@x.example", "ok2@y.example", "ok@x.example" }, calls.Take(calls.Count - 1).SelectMany(c => c).Order().ToList());
            Assert.Equal(new[] { "later@x.example" }, calls[^1]);
            Assert.Equal(2, agent.Seen["later@x.example"]);
            Assert.Equal(1, agent.Seen["ok@x.example"]);
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>Sends everything except "later@", which is deferred on its first attempt.</summary>
    private sealed class SecondTimeLucky : IDeliveryAgent
    {
        public System.Collections.Concurrent.ConcurrentQueue<string[]> Calls { get; } = new();
        public System.Collections.Concurrent.ConcurrentDictionary<string, int> Seen { get; } = new();

        public ValueTask<DeliveryReport> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
        {
            Calls.Enqueue(request.Recipients.Select(r => r.Address).ToArray());
            var results = request.Recipients.Select(r =>
            {
                int n = Seen.AddOrUpdate(r.Address, 1, (_, v) => v + 1);
                return r.Address.StartsWith("later@", StringComparison.Ordinal) && n == 1
                    ? new RecipientResult(r, DeliveryStatus.Deferred, "4.2.0", "try again")
                    : new RecipientResult(r, DeliveryStatus.Sent, "2.0.0", "ok");
            }).ToList();
            return ValueTask.FromResult(new DeliveryReport(results, "x[127.0.0.1]:25", TimeSpan.Zero, TimeSpan.Zero));
        }
    }

    private static void Fill(MessageBuilder m, QueueStore store, int rcpts)
    {
        m.Reset();
        m.QueueId = store.NewQueueId();
        m.SetSender("a@example.org"u8);
        for (int r = 0; r < rcpts; r++) m.AddRecipient(System.Text.Encoding.ASCII.GetBytes($"r{r}@example.net"), default, 0);
        m.Content.Write("Subject: x\r\n\r\nbody\r\n"u8);
        m.ArrivalUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }
}
