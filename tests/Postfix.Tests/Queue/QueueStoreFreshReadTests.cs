// The queue's two cheap paths after a commit: qmgr's first read of a just-committed
// message comes from the copy kept in memory (no read back from the log file), and
// state records nobody waits for are committed lazily (QueueCommitter.LazyDelay) yet
// still reach the disk on their own, so a crash after that keeps them.
using System.Text;
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;
using Postfix.Queue.Store;
using Xunit;

namespace Postfix.Tests.Queue;

public sealed class QueueStoreFreshReadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qfresh-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    // Commits one message (rcpts recipients, a body of bodyBytes) and returns its entry.
    private static async Task<QueueEntry> CommitAsync(QueueStore store, MessageBuilder m, int rcpts, int bodyBytes)
    {
        m.Reset();
        m.QueueId = store.NewQueueId();
        m.SetSender("a@example.org"u8);
        for (int r = 0; r < rcpts; r++) m.AddRecipient(Encoding.ASCII.GetBytes($"r{r}@example.net"), default, 0);
        m.Content.Write("Subject: fresh\r\n\r\n"u8);
        m.Content.Write(Encoding.ASCII.GetBytes(new string('b', bodyBytes) + "\r\n"));
        await store.CommitAsync(m, CancellationToken.None);
        Assert.True(store.TryGet(m.QueueId, out var e));
        return e;
    }

    [Fact]
    public async Task FirstReadComesFromMemoryAndEqualsTheCopyInTheLog()
    {
        await using var store = await QueueStore.OpenAsync(_dir, 10_240_000);
        using var m = new MessageBuilder(10_240_000);
        var e = await CommitAsync(store, m, 3, 4096);
        Assert.Equal(1, store.Fresh.Count);
        Assert.Equal(e.Length, (int)store.Fresh.Bytes);

        var first = await store.ReadAsync(e);   // the kept copy
        Assert.Equal((0, 0L), store.Fresh);
        var second = await store.ReadAsync(e);  // from the log
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Equal(second!.Sender, first!.Sender);
        Assert.Equal(second.Recipients.Select(r => r.Address), first.Recipients.Select(r => r.Address));
        Assert.Equal(["r0@example.net", "r1@example.net", "r2@example.net"], first.Recipients.Select(r => r.Address));
        Assert.Equal(second.Content.ToArray(), first.Content.ToArray());
        Assert.Equal(second.ArrivalUnixMs, first.ArrivalUnixMs);
    }

    [Fact]
    public async Task RemovalDropsTheCopyAndLargeRecordsAreNotKept()
    {
        await using var store = await QueueStore.OpenAsync(_dir, 10_240_000);
        using var m = new MessageBuilder(10_240_000);
        var removed = await CommitAsync(store, m, 1, 100);
        Assert.Equal(1, store.Fresh.Count);
        store.Remove(removed);
        Assert.Equal((0, 0L), store.Fresh);

        // Over FreshMaxRecord: read back from the log, as any later read is.
        var big = await CommitAsync(store, m, 1, QueueStore.FreshMaxRecord + 1);
        Assert.Equal((0, 0L), store.Fresh);
        var read = await store.ReadAsync(big);
        Assert.Equal(QueueStore.FreshMaxRecord + 1 + "Subject: fresh\r\n\r\n".Length + 2, read!.Content.Length);
    }

    [Fact]
    public async Task LazyStateRecordReachesTheDiskWithoutAnotherCommitAndSurvivesACrash()
    {
        long notBefore = 1_900_000_000_000;
        var first = await QueueStore.OpenAsync(_dir, 10_240_000);
        using var m = new MessageBuilder(10_240_000);
        var e = await CommitAsync(first, m, 2, 100);
        var id = e.Id;
        first.MarkRecipientDone(e, 1);
        first.SetState(e, QueueState.Deferred, notBefore);
        Assert.True(first.CommittedUntilAddress < first.TailAddress, "the state records wait for a commit");
        // Nothing else is appended: the lazy timer alone must commit them (bounded wait).
        Assert.True(await Infrastructure.Repo.WaitUntilAsync(() => first.CommittedUntilAddress >= first.TailAddress, TimeSpan.FromSeconds(10), 10),
            $"committed {first.CommittedUntilAddress}, tail {first.TailAddress}");

        // No DisposeAsync (its final commit would hide a missing one): the process "dies" here.
        await using var second = await QueueStore.OpenAsync(_dir, 10_240_000);
        Assert.True(second.TryGet(id, out var r));
        Assert.Equal(QueueState.Deferred, r.State);
        Assert.Equal(notBefore, r.NotBeforeUnixMs);
        Assert.False(r.IsRecipientDone(0));
        Assert.True(r.IsRecipientDone(1));
    }
}
