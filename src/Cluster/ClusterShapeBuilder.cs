// Computes the qshape part of a node's ClusterQueueSummary from the queue's in-memory index,
// without re-reading the queue on every publish: each message's recipient domains are read
// from the log once, the first time a publish sees the message, and kept by queue ID until a
// publish no longer finds the message in the index (QueueEntry objects are short-lived
// handles, so they cannot carry it). A publish
// then walks the index only: state, arrival time and "recipient done" bits are in memory.
// At most MaxReadsPerPublish new messages are read per publish (a freshly started node with
// a large queue fills in over a few publishes; the rest counts as "(unread)" meanwhile), and
// each queue keeps its MaxDomains biggest domains, the rest summed as "(other)".
// Domain normalisation and bucket boundaries come from the host (qshape's), so the cluster
// table and the local qshape table agree.
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Cluster;

public sealed class ClusterShapeBuilder(QueueStore store, Func<string, string> domainOf, Func<long, int> bucketOf,
    int bucketMinutes, int buckets, int maxDomains = ClusterShapeBuilder.DefaultMaxDomains)
{
    public const int DefaultMaxDomains = 100;
    public const int MaxReadsPerPublish = 20_000;
    public const string Other = "(other)";
    public const string Unread = "(unread)";
    private const int MaxInterned = 100_000;

    private readonly record struct Rcpt(int Index, string Domain);

    private sealed class Known(Rcpt[] rcpts) { public readonly Rcpt[] Rcpts = rcpts; public int SeenIn; }

    private readonly Dictionary<long, Known> _domains = new();
    private int _publish;
    private readonly Dictionary<string, string> _intern = new(StringComparer.Ordinal);

    private static readonly QueueState[] States = [QueueState.Incoming, QueueState.Active, QueueState.Deferred, QueueState.Hold];

    /// <summary>One queue's shape per queue name. Not thread-safe: one publisher calls it.</summary>
    public async Task<Dictionary<string, ClusterQueueShape>> BuildAsync(long nowMs, CancellationToken ct)
    {
        var rows = new Dictionary<string, long[]>[States.Length + 1];
        foreach (var s in States) rows[(int)s] = new(StringComparer.Ordinal);
        int reads = 0, publish = ++_publish;
        foreach (var e in store.Entries)
        {
            var state = e.State;
            if (state is < QueueState.Incoming or > QueueState.Hold) continue;
            int bucket = bucketOf(Math.Max(0, nowMs - e.ArrivalUnixMs) / 1000);
            Rcpt[] rcpts;
            if (_domains.TryGetValue(e.Id.Value, out var known)) { known.SeenIn = publish; rcpts = known.Rcpts; }
            else
            {
                if (reads >= MaxReadsPerPublish) { Count(rows[(int)state], Unread, bucket); continue; }
                reads++;
                QueuedMessage? m;
                try { m = await store.ReadAsync(e, ct).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException) { m = null; }
                if (m is null) continue;
                rcpts = new Rcpt[m.Recipients.Count];
                for (int i = 0; i < rcpts.Length; i++)
                    rcpts[i] = new Rcpt(m.Recipients[i].Index, Intern(domainOf(m.Recipients[i].Address)));
                _domains[e.Id.Value] = new Known(rcpts) { SeenIn = publish };
            }
            foreach (var r in rcpts)
                if (!e.IsRecipientDone(r.Index)) Count(rows[(int)state], r.Domain, bucket);
        }
        // Messages that left the queue since the last publish.
        foreach (var (id, known) in _domains)
            if (known.SeenIn != publish) _domains.Remove(id);
        var result = new Dictionary<string, ClusterQueueShape>(StringComparer.Ordinal);
        foreach (var s in States)
            result[s.Name()] = new ClusterQueueShape { BucketMinutes = bucketMinutes, Buckets = buckets, Domains = Cap(rows[(int)s]) };
        return result;
    }

    private void Count(Dictionary<string, long[]> rows, string domain, int bucket)
    {
        if (!rows.TryGetValue(domain, out var row)) rows[domain] = row = new long[buckets + 1];
        row[0]++;
        row[Math.Clamp(bucket, 1, buckets)]++;
    }

    private string Intern(string d)
    {
        if (_intern.TryGetValue(d, out var s)) return s;
        if (_intern.Count < MaxInterned) _intern[d] = d;
        return d;
    }

    /// <summary>The biggest <c>maxDomains</c> rows, the others summed into "(other)".</summary>
    internal Dictionary<string, long[]> Cap(Dictionary<string, long[]> rows)
    {
        if (rows.Count <= maxDomains) return rows;
        var kept = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var other = new long[buckets + 1];
        int n = 0;
        foreach (var (d, row) in rows.OrderByDescending(kv => kv.Value[0]).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (n++ < maxDomains && d != Other) { kept[d] = row; continue; }
            for (int i = 0; i < row.Length; i++) other[i] += row[i];
        }
        kept[Other] = other;
        return kept;
    }
}
