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
