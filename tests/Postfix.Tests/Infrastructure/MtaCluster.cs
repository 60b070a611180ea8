// A cluster for the scale-out tests: one real redis-server and N MTA processes on loopback,
// each with its own config directory, queue and port (MtaInstance), sharing the store through
// cluster_store and named node1..nodeN (cluster_node_name). Every node gets the same extra
// main.cf lines; per-node lines come from a function of the node's index.
namespace Postfix.Tests.Infrastructure;

public sealed class MtaCluster : IAsyncDisposable
{
    public RedisServer Store { get; }
    public IReadOnlyList<MtaInstance> Nodes { get; }

    private MtaCluster(RedisServer store, IReadOnlyList<MtaInstance> nodes) { Store = store; Nodes = nodes; }

    /// <param name="mainCfExtra">main.cf lines for every node.</param>
    /// <param name="perNode">More main.cf lines for node i (0-based), or null.</param>
    public static async Task<MtaCluster> StartAsync(int nodes, string mainCfExtra = "", Func<int, string>? perNode = null,
        string masterOptions = "", string masterCfExtra = "")
    {
        var store = await RedisServer.StartAsync();
        var list = new List<MtaInstance>();
        try
        {
            for (int i = 0; i < nodes; i++)
            {
                var mta = MtaInstance.Prepare(
                    $"cluster_store = {store.Endpoint}\ncluster_node_name = node{i + 1}\n{mainCfExtra}\n{perNode?.Invoke(i)}",
                    masterOptions, masterCfExtra);
                list.Add(mta);
            }
            await Task.WhenAll(list.Select(n => n.StartProcessAsync()));
            return new MtaCluster(store, list);
        }
        catch
        {
            foreach (var n in list) await n.DisposeAsync();
            await store.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var n in Nodes) await n.DisposeAsync();
        await Store.DisposeAsync();
    }
}
