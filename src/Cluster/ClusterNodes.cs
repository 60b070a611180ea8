// Reads every node's published queue summary from the store, for postqueue -C, qshape -C
// and postfix drain's choice of peers. A node whose summary key expired (three publish
// intervals without a publish: dead, or cut off from the store) is "absent"; one whose
// summary is older than two of its intervals is "stale"; one that published state
// "stopped" on its way down is "stopped". Only "running" and "draining" nodes are live,
// and only live nodes count in cluster totals. The store's data is read as untrusted
// (ClusterQueueSummary.TryParse); store failures surface as RedisException.
using StackExchange.Redis;

namespace Postfix.Cluster;

public sealed record ClusterMember(string Name, string Status, ClusterQueueSummary? Summary, double AgeSeconds)
{
    public const string Absent = "absent";
    public const string Stale = "stale";

    public bool Live => Status is ClusterQueueSummary.Running or ClusterQueueSummary.Draining;
}

public static class ClusterNodes
{
    /// <summary>More node names than this in the set are not read (a runaway set is not our cluster).</summary>
    public const int MaxNodes = 1000;

    /// <summary>Waits (bounded) for the first connection; false when the store did not answer.</summary>
    public static async Task<bool> WaitConnectedAsync(ClusterStore store)
    {
        var until = DateTime.UtcNow + store.Timeout * 4 + TimeSpan.FromSeconds(1);
        while (!store.IsConnected && DateTime.UtcNow < until) await Task.Delay(20).ConfigureAwait(false);
        return store.IsConnected;
    }

    public static async Task<IReadOnlyList<ClusterMember>> ReadAsync(ClusterStore store)
    {
        var db = store.Database;
        var members = (await db.SetMembersAsync(ClusterPublisher.NodesKey(store)).ConfigureAwait(false))
            .Select(m => (string)m!).Where(m => !string.IsNullOrEmpty(m)).Order(StringComparer.Ordinal).Take(MaxNodes).ToArray();
        if (members.Length == 0) return [];
        var values = await db.StringGetAsync(members.Select(m => ClusterPublisher.SummaryKey(store, m)).ToArray()).ConfigureAwait(false);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var result = new List<ClusterMember>(members.Length);
        for (int i = 0; i < members.Length; i++)
        {
            var s = ClusterQueueSummary.TryParse(values[i]);
            if (s is null || s.Node != members[i]) { result.Add(new ClusterMember(members[i], ClusterMember.Absent, null, double.NaN)); continue; }
            double age = Math.Max(0, (now - s.Time) / 1000.0);
            string status = s.State == ClusterQueueSummary.Stopped ? ClusterQueueSummary.Stopped
                : age > 2 * Math.Max(1, s.Interval) ? ClusterMember.Stale
                : s.State == ClusterQueueSummary.Draining ? ClusterQueueSummary.Draining : ClusterQueueSummary.Running;
            result.Add(new ClusterMember(members[i], status, s, age));
        }
        return result;
    }
}
