// master(8)'s one place for the cluster store (our extension; Postfix has no cluster mode):
// created from main.cf at start when cluster_store is set, replaced by a postfix reload that
// changes cluster_store, cluster_node_name, cluster_key_prefix or cluster_store_timeout (kept
// as it is otherwise, so a reload does not drop the store's connection), and handed to the
// daemons that count across the cluster: smtpd's client rates (ClusterClientRates through
// SmtpdSettings.ClientRates) follow reloads; qmgr's destination limits, the queue-summary
// publisher and drain take the store made at start (Store right after Start) and keep it
// until the master exits, as qmgr's other settings are read at start. One node thus keeps
// one connection (two after a reload that changed the store), and smtpd's StoreHealth
// transitions go to the maillog once each as postfix/cluster lines.
// A store replaced by reload is closed a minute later (never the one made at start):
// sessions that started before the reload keep their settings and count per node once it
// is closed.
// Input: main.cf (trusted).
using Postfix.Cluster;
using Postfix.Core.Config;
using Postfix.Core.Logging;
using Postfix.Protocols.Smtpd;

namespace Postfix.Host.Master;

public sealed class ClusterServices : IAsyncDisposable
{
    private static readonly TimeSpan CloseReplacedAfter = TimeSpan.FromMinutes(1);
    private readonly Maillog _log;
    private string _signature = "";
    private ClusterStore? _initial;

    private ClusterServices(Maillog log) => _log = log;

    /// <summary>The store, or null on a single node (cluster_store empty).</summary>
    public ClusterStore? Store { get; private set; }

    /// <summary>smtpd's client rates across the nodes, or null (each smtpd counts in its own Anvil).</summary>
    public IClientRateCounter? ClientRates { get; private set; }

    /// <summary>From main.cf at start. Does not wait for the store: a node starts while it is down.</summary>
    public static ClusterServices Start(MainCf main, Maillog log)
    {
        var c = new ClusterServices(log);
        c.Reload(main);
        c._initial = c.Store;
        return c;
    }

    /// <summary>postfix reload: a new store when its parameters changed, none when cluster_store
    /// was emptied, the same one otherwise. Throws ConfigException for bad values (the reload is
    /// then refused and the running store stays).</summary>
    public void Reload(MainCf main)
    {
        var endpoints = main.GetList("cluster_store");
        string signature = endpoints.Count == 0 ? "" : string.Join('\n', string.Join(',', endpoints),
            main.Get("cluster_node_name").Trim(), main.Get("cluster_key_prefix"), ClusterStore.ParseTimeout(main).Ticks);
        if (signature == _signature) return;
        var store = ClusterStore.FromMainCf(main);
        var old = Store;
        Store = store;
        ClientRates = store is null ? null : new ClusterClientRates(new ClusterLimits(store, m => _log.Info("cluster", m)));
        _signature = signature;
        if (store is not null)
            _log.Info("cluster", $"cluster store {store.Endpoints}, node {store.NodeName}: client rate limits count across the nodes");
        if (old is not null && old != _initial) _ = CloseLaterAsync(old);
    }

    /// <summary>smtpd settings with this node's cluster counters (unchanged on a single node).</summary>
    public SmtpdSettings Smtpd(SmtpdSettings settings) =>
        ClientRates is null ? settings : settings with { ClientRates = ClientRates };

    private static async Task CloseLaterAsync(ClusterStore old)
    {
        await Task.Delay(CloseReplacedAfter).ConfigureAwait(false);
        await old.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Store is { } s) await s.DisposeAsync().ConfigureAwait(false);
        if (_initial is { } i && i != Store) await i.DisposeAsync().ConfigureAwait(false);
        Store = null;
        _initial = null;
    }
}
