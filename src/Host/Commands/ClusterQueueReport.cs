// The cluster's queue, read from the store (our extension): postqueue -C (a table of every
// node's queue counts with the cluster's totals), postqueue -j -C (one JSON object per node)
// and qshape -C (qshape's table summed over the live nodes). Works from any node's config
// directory whether its master runs or not: only cluster_store and cluster_key_prefix are
// used. Absent, stale and stopped nodes are listed and marked, never counted in the totals;
// qshape -C names them on stderr. A store that does not answer is a fatal error (exit 1).
// The store's data is untrusted: summaries are parsed by ClusterQueueSummary.TryParse, and a
// shape with other buckets than ours is skipped with a warning.
using System.Globalization;
using System.Text.Json;
using Postfix.Cluster;
using Postfix.Core.Config;
using StackExchange.Redis;

namespace Postfix.Host.Commands;

public static class ClusterQueueReport
{
    /// <summary>The nodes in the store; null (error printed) without cluster_store or with the store down.</summary>
    private static async Task<IReadOnlyList<ClusterMember>?> ReadNodesAsync(string program, MailSettings settings, TextWriter stderr)
    {
        ClusterStore? store;
        try { store = ClusterStore.FromMainCf(settings.Source); }
        catch (ConfigException e) { stderr.WriteLine($"{program}: fatal: {e.Message}"); return null; }
        if (store is null)
        {
            stderr.WriteLine($"{program}: fatal: -C needs cluster_store in main.cf (this node is not in a cluster)");
            return null;
        }
        await using var _ = store;
        try
        {
            if (!await ClusterNodes.WaitConnectedAsync(store))
                throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "no connection");
            return await ClusterNodes.ReadAsync(store);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            stderr.WriteLine($"{program}: fatal: cluster_store {store.Endpoints}: {e.Message}");
            return null;
        }
    }

    public static async Task<int> PostqueueAsync(MailSettings settings, bool json, TextWriter stdout, TextWriter stderr)
    {
        if (await ReadNodesAsync("postqueue", settings, stderr) is not { } nodes) return 1;
        if (json)
        {
            foreach (var n in nodes) await stdout.WriteLineAsync(JsonLine(n));
            return 0;
        }
        int w = Math.Max(12, nodes.Select(n => n.Name.Length).DefaultIfEmpty(0).Max());
        await stdout.WriteLineAsync($"{"-Node-".PadRight(w, '-')} {"-Status-",-8} {"-Age-",6} {"Incoming",8} {"Active",8} {"Deferred",8} {"Hold",8} {"Total",8} -SMTP-");
        long inc = 0, act = 0, def = 0, hold = 0;
        int live = 0;
        foreach (var n in nodes)
        {
            var s = n.Summary;
            if (s is null)
            {
                await stdout.WriteLineAsync($"{n.Name.PadRight(w)} {n.Status,-8} {"-",6} {"-",8} {"-",8} {"-",8} {"-",8} {"-",8}");
                continue;
            }
            await stdout.WriteLineAsync($"{n.Name.PadRight(w)} {n.Status,-8} {Age(n.AgeSeconds),6} {s.Incoming,8} {s.Active,8} {s.Deferred,8} {s.Hold,8} {s.Total,8} {string.Join(',', s.Smtp)}");
            if (!n.Live) continue;
            live++;
            inc += s.Incoming; act += s.Active; def += s.Deferred; hold += s.Hold;
        }
        await stdout.WriteLineAsync($"-- cluster: {live} live node{(live == 1 ? "" : "s")} of {nodes.Count}: incoming {inc}, active {act}, deferred {def}, hold {hold}, total {inc + act + def + hold}");
        return 0;
    }

    private static string JsonLine(ClusterMember n)
    {
        var s = n.Summary;
        var obj = new Dictionary<string, object?>
        {
            ["node"] = n.Name,
            ["status"] = n.Status,
            ["age"] = s is null ? null : Math.Round(n.AgeSeconds, 1),
            ["time"] = s?.Time / 1000,
            ["smtp"] = s?.Smtp,
            ["incoming"] = s?.Incoming,
            ["active"] = s?.Active,
            ["deferred"] = s?.Deferred,
            ["hold"] = s?.Hold,
            ["total"] = s?.Total,
        };
        return JsonSerializer.Serialize(obj);
    }

    private static string Age(double seconds) =>
        double.IsNaN(seconds) ? "-" : seconds < 120 ? $"{seconds.ToString("0", CultureInfo.InvariantCulture)}s" : $"{(seconds / 60).ToString("0", CultureInfo.InvariantCulture)}m";

    public static async Task<int> QshapeAsync(MailSettings settings, QshapeOptions o, IReadOnlyList<string> queues, TextWriter stdout, TextWriter stderr)
    {
        if (await ReadNodesAsync("qshape", settings, stderr) is not { } nodes) return 1;
        var table = new QshapeTable(o);
        foreach (var n in nodes)
        {
            if (!n.Live)
            {
                stderr.WriteLine($"qshape: warning: node {n.Name}: {n.Status}{(n.Summary is null ? " (no summary in the store)" : "")}; not counted");
                continue;
            }
            foreach (var q in queues)
            {
                if (!n.Summary!.Shape.TryGetValue(q, out var shape)) continue;
                if (shape.Buckets != o.Buckets || shape.BucketMinutes != o.BucketMinutes)
                {
                    stderr.WriteLine($"qshape: warning: node {n.Name}: {q} shape has other buckets ({shape.Buckets} x {shape.BucketMinutes} min); not counted");
                    continue;
                }
                foreach (var (domain, row) in shape.Domains)
                    if (row is not null && row.Length == o.Buckets + 1 && domain.Length <= 1000)
                        table.AddRow(QshapeTable.Domain(domain), row);
            }
        }
        table.Write(stdout);
        return 0;
    }
}
