// The queue listings of postqueue(1): -p in mailq's layout, -j as one JSON
// object per message with Postfix's field names, and per-queue counts. Works
// on the daemon's live store (through showq) or on a store opened offline.
using System.Text.Json;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Host.Commands;

public static class QueueListing
{
    public static async Task WriteMailqAsync(QueueStore store, TextWriter w)
    {
        var entries = store.Entries.OrderBy(e => e.Id).ToList();
        if (entries.Count == 0) { await w.WriteLineAsync("Mail queue is empty"); return; }
        await w.WriteLineAsync("-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------");
        long totalBytes = 0;
        int n = 0;
        foreach (var e in entries)
        {
            var m = await store.ReadAsync(e);
            if (m is null) continue;
            n++;
            totalBytes += m.Content.Length;
            char mark = e.State switch { QueueState.Active => '*', QueueState.Hold => '!', _ => ' ' };
            var arrival = m.Arrival.ToLocalTime().ToString("ddd MMM d HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
            await w.WriteLineAsync($"{e.Id}{mark} {m.Content.Length,8} {arrival,-20} {(m.Sender.Length == 0 ? "MAILER-DAEMON" : m.Sender)}");
            foreach (var r in m.Recipients)
                await w.WriteLineAsync($"{"",42}{r.Address}");
            await w.WriteLineAsync();
        }
        await w.WriteLineAsync($"-- {(totalBytes + 1023) / 1024} Kbytes in {n} Request{(n == 1 ? "" : "s")}.");
    }

    public static async Task WriteJsonAsync(QueueStore store, TextWriter w)
    {
        foreach (var e in store.Entries.OrderBy(e => e.Id).ToList())
        {
            var m = await store.ReadAsync(e);
            if (m is null) continue;
            var obj = new Dictionary<string, object>
            {
                ["queue_name"] = e.State.Name(),
                ["queue_id"] = e.Id.ToString(),
                ["arrival_time"] = m.ArrivalUnixMs / 1000,
                ["message_size"] = m.Content.Length,
                ["forced_expire"] = false,
                ["sender"] = m.Sender,
                ["recipients"] = m.Recipients.Select(r => new Dictionary<string, object> { ["address"] = r.Address }).ToArray(),
            };
            await w.WriteLineAsync(JsonSerializer.Serialize(obj));
        }
    }

    public static async Task WriteCountsAsync(QueueStore store, TextWriter w)
    {
        foreach (var s in new[] { QueueState.Incoming, QueueState.Active, QueueState.Deferred, QueueState.Hold })
            await w.WriteLineAsync($"{s.Name()} {store.Count(s)}");
        await w.WriteLineAsync($"total {store.TotalCount}");
    }
}
