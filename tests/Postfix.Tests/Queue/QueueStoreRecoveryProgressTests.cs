// Queue recovery at start reports progress (every N records or every 2 s) and
// a final count, in order, so an operator watching a large queue come back
// sees it move. N is lowered here so a small queue shows the periodic lines.
using Postfix.Core.Cleanup;
using Postfix.Queue.Store;
using Xunit;

namespace Postfix.Tests.Queue;

public sealed class QueueStoreRecoveryProgressTests
{
    private sealed class Lines : IProgress<string>
    {
        public List<string> All { get; } = [];
        public void Report(string value) => All.Add(value);
    }

    [Fact]
    public async Task RecoveryReportsPeriodicallyAndThenTheCount()
    {
        var dir = Directory.CreateTempSubdirectory("qprogress-").FullName;
        try
        {
            await using (var first = await QueueStore.OpenAsync(dir, 10_240_000))
            {
                using var m = new MessageBuilder(10_240_000);
                for (int i = 0; i < 35; i++)
                {
                    m.Reset();
                    m.QueueId = first.NewQueueId();
                    m.SetSender("a@example.org"u8);
                    m.AddRecipient(System.Text.Encoding.ASCII.GetBytes($"r{i}@example.net"), default, 0);
                    m.Content.Write("Subject: x\r\n\r\nbody\r\n"u8);
                    await first.CommitAsync(m, CancellationToken.None);
                }
                first.Remove(first.Entries.First());
                await first.FlushAsync();
            }
            var lines = new Lines();
            await using var second = await QueueStore.OpenAsync(dir, 10_240_000, lines, progressEveryRecords: 10, CancellationToken.None);
            Assert.Equal(34, (int)second.TotalCount);
            Assert.StartsWith("queue recovery: replaying ", lines.All[0]);
            var periodic = lines.All.Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^queue recovery: \d+ records, \d+ messages, \d+%$")).ToList();
            // Every 10 records (a stalled machine may add a 2-second one in between).
            var shown = periodic.Select(l => l[..l.LastIndexOf(',')]).ToList();
            Assert.Subset(shown.ToHashSet(), new HashSet<string> { "queue recovery: 10 records, 9 messages", "queue recovery: 20 records, 19 messages", "queue recovery: 30 records, 29 messages" });
            Assert.Matches(@"^queue recovery: done, 34 messages from 36 records in \d+\.\ds$", lines.All[^1]);
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
