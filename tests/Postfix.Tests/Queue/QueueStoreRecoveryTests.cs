// Recovery of the FASTER queue across many group commits: metadata files are
// written only every 1000th commit (fast commit mode), so recovery must find
// later commits by scanning the log forward. The first store is abandoned
// without a clean shutdown, as in a crash.
using Postfix.Core.Cleanup;
using Postfix.Queue.Store;
using Xunit;

namespace Postfix.Tests.Queue;

public sealed class QueueStoreRecoveryTests
{
    [Fact]
    public async Task RecoversEveryCommitPastTheLastMetadataFile()
    {
        var dir = Directory.CreateTempSubdirectory("qstore-").FullName;
        try
        {
            var first = await QueueStore.OpenAsync(dir, 10_240_000);
            using var m = new MessageBuilder(10_240_000);
            const int n = 2500; // one commit each: past two metadata checkpoints
            for (int i = 0; i < n; i++)
            {
                m.Reset();
                m.QueueId = first.NewQueueId();
                m.SetSender("a@example.org"u8);
                m.AddRecipient(System.Text.Encoding.ASCII.GetBytes($"r{i}@example.net"), default, 0);
                m.Content.Write(System.Text.Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\nbody {i}\r\n"));
                await first.CommitAsync(m, CancellationToken.None);
            }
            // No DisposeAsync: the process "dies" here. A second store recovers from disk.
            await using var second = await QueueStore.OpenAsync(dir, 10_240_000);
            Assert.Equal(n, (int)second.TotalCount);
            var last = second.Entries.MaxBy(e => e.Id)!;
            var msg = await second.ReadAsync(last);
            Assert.Equal($"r{n - 1}@example.net", msg!.Recipients[0].Address);
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}

public sealed class QueueStoreCompactionTests
{
    private static void Fill(MessageBuilder m, QueueStore store, string rcptPrefix, int rcpts, int bodyBytes)
    {
        m.Reset();
        m.QueueId = store.NewQueueId();
        m.SetSender("a@example.org"u8);
        for (int r = 0; r < rcpts; r++) m.AddRecipient(System.Text.Encoding.ASCII.GetBytes($"{rcptPrefix}{r}@example.net"), default, 0);
        m.Content.Write("Subject: x\r\n\r\n"u8);
        m.Content.Write(System.Text.Encoding.ASCII.GetBytes(new string('b', bodyBytes) + "\r\n"));
    }

    [Fact]
    public async Task OldDeferredMessageIsCopiedForwardAndTheLogTruncated()
    {
        var dir = Directory.CreateTempSubdirectory("qcompact-").FullName;
        try
        {
            Postfix.Core.Queue.QueueId keptId;
            long oldAddress, beginAfter;
            await using (var store = await QueueStore.OpenAsync(dir, 10_240_000))
            {
                using var m = new MessageBuilder(10_240_000);
                Fill(m, store, "keep", 2, 100);
                await store.CommitAsync(m, CancellationToken.None);
                keptId = m.QueueId;
                Assert.True(store.TryGet(keptId, out var kept));
                oldAddress = kept.Address;
                store.MarkRecipientDone(kept, 0);
                store.SetState(kept, Postfix.Core.Queue.QueueState.Deferred, 123456);
                // 8 MB of mail that is delivered and removed after the kept one.
                for (int i = 0; i < 256; i++)
                {
                    Fill(m, store, "gone", 1, 32 * 1024);
                    await store.CommitAsync(m, CancellationToken.None);
                    Assert.True(store.TryGet(m.QueueId, out var g));
                    store.Remove(g);
                }
                int copied = await store.CompactAsync(keepBytes: 1 << 20, maxCopyBytes: 1 << 20);
                Assert.Equal(1, copied);
                Assert.True(kept.Address > oldAddress);
                await store.FlushAsync();
                beginAfter = store.BeginAddress;
                Assert.True(beginAfter > oldAddress, $"begin {beginAfter} not past {oldAddress}");
            }
            await using (var again = await QueueStore.OpenAsync(dir, 10_240_000))
            {
                Assert.Equal(1, (int)again.TotalCount);
                Assert.True(again.TryGet(keptId, out var e));
                Assert.Equal(Postfix.Core.Queue.QueueState.Deferred, e.State);
                Assert.Equal(123456, e.NotBeforeUnixMs);
                Assert.True(e.IsRecipientDone(0));
                Assert.False(e.IsRecipientDone(1));
                var msg = await again.ReadAsync(e);
                Assert.Equal("keep1@example.net", msg!.Recipients[1].Address);
            }
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}

public sealed class QueueStoreReclaimRaceTests
{
    [Fact]
    public async Task ReclaimingWhileSessionsCommitNeverCutsAwayACommittedMessage()
    {
        var dir = Directory.CreateTempSubdirectory("qrace-").FullName;
        try
        {
            var kept = new System.Collections.Concurrent.ConcurrentBag<Postfix.Core.Queue.QueueId>();
            await using (var store = await QueueStore.OpenAsync(dir, 10_240_000))
            {
                using var stop = new CancellationTokenSource();
                // Reclaim as often as possible while writers commit and a "qmgr" removes most messages.
                var reclaimer = Task.Run(async () => { while (!stop.IsCancellationRequested) { store.ReclaimSpace(); await Task.Yield(); } });
                var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
                {
                    using var m = new MessageBuilder(10_240_000);
                    for (int i = 0; i < 250; i++)
                    {
                        m.Reset();
                        m.QueueId = store.NewQueueId();
                        m.SetSender("a@example.org"u8);
                        m.AddRecipient(System.Text.Encoding.ASCII.GetBytes($"w{w}i{i}@example.net"), default, 0);
                        m.Content.Write(System.Text.Encoding.ASCII.GetBytes($"Subject: {w}/{i}\r\n\r\n{new string('z', 2000)}\r\n"));
                        await store.CommitAsync(m, CancellationToken.None);
                        Assert.True(store.TryGet(m.QueueId, out var e));
                        if (i % 10 == 0) kept.Add(m.QueueId); else store.Remove(e);
                    }
                })).ToList();
                await Task.WhenAll(writers);
                stop.Cancel();
                await reclaimer;
                foreach (var id in kept)
                {
                    Assert.True(store.TryGet(id, out var e));
                    Assert.True(e.Address >= store.BeginAddress, $"{id} at {e.Address} was truncated (begin {store.BeginAddress})");
                    Assert.NotNull(await store.ReadAsync(e));
                }
            }
            await using var again = await QueueStore.OpenAsync(dir, 10_240_000);
            Assert.Equal(kept.Count, (int)again.TotalCount);
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}

public sealed class QueueStoreInFlightTests
{
    [Fact]
    public async Task CommittedButNotYetIndexedMessageIsNotTruncated()
    {
        var dir = Directory.CreateTempSubdirectory("qinflight-").FullName;
        try
        {
            Postfix.Core.Queue.QueueId idA;
            await using (var store = await QueueStore.OpenAsync(dir, 10_240_000))
            {
                using var a = new MessageBuilder(10_240_000);
                using var b = new MessageBuilder(10_240_000);
                void Fill(MessageBuilder m, string who)
                {
                    m.Reset();
                    m.QueueId = store.NewQueueId();
                    m.SetSender("a@example.org"u8);
                    m.AddRecipient(System.Text.Encoding.ASCII.GetBytes(who + "@example.net"), default, 0);
                    m.Content.Write(System.Text.Encoding.ASCII.GetBytes($"Subject: {who}\r\n\r\n{new string('q', 3000)}\r\n"));
                }
                Fill(a, "first");
                idA = a.QueueId;
                var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var reachedWindow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                store.AfterCommitBeforeIndex = id =>
                {
                    if (id != idA) return Task.CompletedTask;
                    reachedWindow.TrySetResult();
                    return hold.Task;
                };
                // A is committed (its client is about to get 250) but not indexed yet...
                var commitA = store.CommitAsync(a, CancellationToken.None).AsTask();
                await reachedWindow.Task.WaitAsync(TimeSpan.FromSeconds(10));
                // ...while B, appended after it, is committed, indexed and delivered.
                Fill(b, "second");
                await store.CommitAsync(b, CancellationToken.None);
                Assert.True(store.TryGet(b.QueueId, out var eb));
                Fill(b, "third");
                await store.CommitAsync(b, CancellationToken.None);
                store.Remove(eb);
                store.ReclaimSpace();
                await store.FlushAsync();
                hold.SetResult();
                await commitA.WaitAsync(TimeSpan.FromSeconds(10));
                Assert.True(store.TryGet(idA, out var ea));
                Assert.True(ea.Address >= store.BeginAddress, $"A at {ea.Address} truncated (begin {store.BeginAddress})");
                Assert.NotNull(await store.ReadAsync(ea));
            }
            await using var again = await QueueStore.OpenAsync(dir, 10_240_000);
            Assert.True(again.TryGet(idA, out _), "A lost after restart");
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
