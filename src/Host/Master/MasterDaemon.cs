// master(8) in one process: loads the configuration, locks the queue (one
// master per queue_directory), recovers the FASTER queue, starts qmgr, the
// showq/admin socket, one Kestrel listener per smtpd or qmqpd service of
// master.cf, pickup(8) on the maildrop and the metrics endpoint (MetricsEndpoint).
// With cluster_store set it publishes the queue summary (ClusterPublisher) and
// serves postfix drain (MasterDrain), which ends by stopping the master.
// SIGHUP = postfix reload (new sessions get new settings, open ones keep
// theirs, a broken config is logged with file:line and the old one stays);
// SIGTERM/SIGINT = stop after the queue's final commit.
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Postfix.Cluster;
using Postfix.Core.Bounce;
using Postfix.Core.Cleanup;
using Postfix.Core.Pickup;
using Postfix.Core.Config;
using Postfix.Core.Logging;
using Postfix.Host.Commands;
using Postfix.Protocols.Qmqpd;
using Postfix.Protocols.Smtpd;
using Postfix.Queue.Qmgr;
using Postfix.Queue.Store;

namespace Postfix.Host.Master;

public sealed class MasterDaemon
{
    public const string Version = "3.7.0-compatible";

    public static async Task<int> RunAsync(string? configDir, TextWriter stderr)
    {
        MasterConfig cfg;
        try { cfg = MasterConfig.Load(configDir); }
        catch (ConfigException e) { stderr.WriteLine($"postfix: fatal: {e.Message}"); return 1; }
        // Before the first socket (the cluster store's, Kestrel's): the runtime reads it once.
        var socketThreads = SocketThreads.Choose(cfg);

        var qdir = cfg.Settings.QueueDirectory;
        using var pidLock = QueueLock.TryAcquire(qdir, out string? lockError);
        if (pidLock is null) { stderr.WriteLine($"postfix: fatal: {lockError}"); return 1; }
        await using var log = Maillog.Open(cfg.Settings.MaillogFile, cfg.Settings.MyHostname, cfg.Settings.SyslogName);
        log.Info("master", $"daemon started -- version {Version}, configuration {configDir ?? "(embedded defaults)"}");
        if (socketThreads is not null) log.Info("master", socketThreads);
        // cluster_store (our extension): one store connection per node for everything that
        // counts or publishes in it (null members on a single node). Does not wait for the store.
        ClusterServices clusterServices;
        try { clusterServices = ClusterServices.Start(cfg.Main, log); }
        catch (ConfigException e)
        {
            log.Fatal("master", e.Message);
            await log.FlushAsync();
            stderr.WriteLine($"postfix: fatal: {e.Message}");
            return 1;
        }
        await using var clusterLifetime = clusterServices;
        var cluster = clusterServices.Store;

        QueueStore store;
        try
        {
            store = await QueueStore.OpenAsync(qdir, cfg.Settings.MessageSizeLimit,
                new MaillogProgress(log, "master"));
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            log.Fatal("master", $"cannot open queue {qdir}: {e.Message}");
            await log.FlushAsync();
            stderr.WriteLine($"postfix: fatal: cannot open queue {qdir}: {e.Message}");
            return 1;
        }
        if (store.RecoveredCount > 0) log.Info("master", $"recovered {store.RecoveredCount} queued messages");
        // Before the daemons, so what they count from their first event on is seen.
        await using var metrics = await MetricsEndpoint.StartAsync(cfg.Main.Get(MetricsEndpoint.Parameter), store.Count, log);

        // One cleanup for every message source: the same header fixes and address maps for all
        // (local(8) forwards re-enter it too, as in Postfix).
        var cleanup = new CleanupService(store, log, "smtpd") { Maps = cfg.CleanupMaps };
        await using var qmgr = new Qmgr(store, log, cfg.Settings.QmgrMessageActiveLimit);
        var agents = DeliveryAgents.Create(cfg, cleanup.For("local"), log);
        var bounce = new BounceService(store, BounceSettings.From(cfg.Settings), cfg.Settings.MessageSizeLimit);
        // The cluster-wide destination limits qmgr asks before each delivery (null when none is configured).
        ClusterDestinationLimits? destinationLimits;
        try
        {
            destinationLimits = ClusterDestinationLimits.FromMainCf(cfg.Main, cluster, log);
        }
        catch (ConfigException e)
        {
            log.Fatal("master", e.Message);
            await store.DisposeAsync();
            await log.FlushAsync();
            stderr.WriteLine($"postfix: fatal: {e.Message}");
            return 1;
        }
        await using var destinationLimitsScope = destinationLimits;
        qmgr.Scheduler = new QmgrScheduler(store, log, cfg.Qmgr, cfg.Resolver, agents, bounce.SendAsync, qmgr.Deferred.Add)
        {
            Gates = destinationLimits,
        };
        if (cfg.Embedded)
            log.Info("master", "embedded configuration: mail for remote domains stays in the deferred queue (set relayhost or defer_transports in main.cf)");
        var servers = new SmtpdServers();
        foreach (var l in cfg.Listeners) servers.Add(l.EndPoint, new SmtpdServer(clusterServices.Smtpd(l.Smtpd), store, log, cleanup));
        var qmqpd = new QmqpdServers();
        foreach (var l in cfg.QmqpdListeners) qmqpd.Add(l.EndPoint, new QmqpdServer(l.Qmqpd, store, log, cleanup.For("qmqpd")));

        var web = BuildKestrel(cfg, servers, qmqpd);
        using var stopping = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopping.Cancel(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stopping.Cancel(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; Reload(configDir, servers, qmqpd, cleanup, clusterServices, log); });
        var showq = new ShowqService(store, log, QueueAccess.ShowqPath(qdir), () => Reload(configDir, servers, qmqpd, cleanup, clusterServices, log), qmgr);

        try
        {
            await web.StartAsync();
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            log.Fatal("master", $"bind failed: {e.Message}");
            await store.DisposeAsync();
            await log.FlushAsync();
            stderr.WriteLine($"postfix: fatal: bind failed: {e.Message}");
            return 1;
        }
        qmgr.Start();
        var pickup = cfg.Pickup is { } ps ? new PickupDaemon(ps, cleanup.For("pickup"), log) : null;
        pickup?.Start();
        var publisher = StartPublisher(cfg, cluster, store, log);
        // Listeners and pickup close once, whether a drain or the stop closes them first.
        Task? listenersClosed = null;
        var closeLock = new object();
        Task CloseListeners(CancellationToken ct) { lock (closeLock) return listenersClosed ??= web.StopAsync(ct); }
        async ValueTask StopPickup() { if (Interlocked.Exchange(ref pickup, null) is { } p) await p.DisposeAsync(); }
        var drain = new MasterDrain(cfg, store, qmgr, log, cluster, publisher, CloseListeners, StopPickup, stopping.Cancel);
        showq.Drain = drain;
        showq.Start();
        pidLock.WritePid();
        foreach (var l in cfg.Listeners) log.Info("master", $"listening on {l.EndPoint} (service {l.Service})");
        foreach (var l in cfg.QmqpdListeners) log.Info("master", $"listening on {l.EndPoint} (service {l.Service}, qmqpd)");

        var reclaim = ReclaimLoopAsync(store, log, cfg.Main.GetTime("queue_space_reclaim_interval"), stopping.Token);
        try { await Task.Delay(Timeout.Infinite, stopping.Token); } catch (OperationCanceledException) { }
        await reclaim;

        log.Info("master", drain.Started ? "terminating: drained" : "terminating on signal 15");
        await showq.DisposeAsync();
        await drain.DisposeAsync();
        if (publisher is not null) await publisher.DisposeAsync();
        await StopPickup();
        using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try { await CloseListeners(grace.Token).WaitAsync(grace.Token); } catch (OperationCanceledException) { }
        }
        web.Dispose();
        foreach (var s in servers.All) s.Dispose();
        foreach (var s in qmqpd.All) s.Dispose();
        await qmgr.DisposeAsync();
        foreach (var agent in agents.Values.OfType<IAsyncDisposable>()) await agent.DisposeAsync();
        await store.DisposeAsync();
        await log.FlushAsync();
        return 0;
    }

    /// <summary>With cluster_store set: the queue summary publisher (cluster_publish_interval), started.</summary>
    private static ClusterPublisher? StartPublisher(MasterConfig cfg, ClusterStore? cluster, QueueStore store, Maillog log)
    {
        if (cluster is null) return null;
        var interval = cfg.Main.GetTime("cluster_publish_interval");
        if (interval < TimeSpan.FromSeconds(1)) interval = TimeSpan.FromSeconds(1);
        // A wildcard listener is published as loopback: peers on this host reach it there
        // (other hosts need cluster_drain_peers).
        var smtp = cfg.Listeners.Select(l => l.EndPoint.Address.Equals(IPAddress.Any) || l.EndPoint.Address.Equals(IPAddress.IPv6Any)
            ? $"127.0.0.1:{l.EndPoint.Port}" : l.EndPoint.ToString()).Distinct().ToList();
        var o = new QshapeOptions();
        var shape = new ClusterShapeBuilder(store, QshapeTable.Domain, new QshapeTable(o).Bucket, o.BucketMinutes, o.Buckets);
        var publisher = new ClusterPublisher(cluster, store, log, interval, smtp, shape);
        publisher.Start();
        return publisher;
    }

    /// <summary>Releases log space below the oldest queued message (delivered mail leaves the disk).</summary>
    private static async Task ReclaimLoopAsync(QueueStore store, Maillog log, TimeSpan interval, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try { await Task.Delay(interval, ct); } catch (OperationCanceledException) { return; }
            try
            {
                store.ReclaimSpace();
                // Long-deferred mail pins the log: copy it forward once the log
                // holds more than 512 MB, keeping the newest 256 MB in place.
                if (store.TailAddress - store.BeginAddress > 512L << 20)
                {
                    int moved = await store.CompactAsync(keepBytes: 256L << 20, maxCopyBytes: 64L << 20, ct);
                    if (moved > 0) log.Info("master", $"queue compaction: copied {moved} old messages forward");
                }
            }
            catch (OperationCanceledException) { return; }
            catch (Exception e) { log.Warning("master", $"queue space reclaim failed: {e.Message}"); }
        }
    }

    private static IHost BuildKestrel(MasterConfig cfg, SmtpdServers servers, QmqpdServers qmqpd)
    {
        return new HostBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .ConfigureServices(s =>
            {
                s.AddSingleton<ISmtpdServerResolver>(servers);
                s.AddSingleton<SmtpdConnectionHandler>();
                s.AddSingleton<IQmqpdServerResolver>(qmqpd);
                s.AddSingleton<QmqpdConnectionHandler>();
            })
            .ConfigureWebHost(web => web
                .UseKestrelCore()
                .UseSockets(so =>
                {
                    // SMTP is many tiny request/replies per connection: run the
                    // session on the socket's I/O thread (no thread-pool hop per
                    // command) and skip the zero-byte read before each receive.
                    so.UnsafePreferInlineScheduling = true;
                    so.WaitForDataBeforeAllocatingBuffer = false;
                })
                .ConfigureKestrel(o =>
                {
                    o.AddServerHeader = false;
                    o.Limits.MaxConcurrentConnections = null;
                    foreach (var l in cfg.Listeners)
                        o.Listen(l.EndPoint, lo => lo.UseConnectionHandler<SmtpdConnectionHandler>());
                    foreach (var l in cfg.QmqpdListeners)
                        o.Listen(l.EndPoint, lo => lo.UseConnectionHandler<QmqpdConnectionHandler>());
                })
                .Configure(_ => { }))
            .Build();
    }

    private static void Reload(string? configDir, SmtpdServers servers, QmqpdServers qmqpd, CleanupService cleanup,
        ClusterServices cluster, Maillog log)
    {
        try
        {
            var cfg = MasterConfig.Load(configDir);
            // SIGHUP and the showq socket may both reload: one at a time past this point.
            lock (cluster)
            {
                cluster.Reload(cfg.Main);
                foreach (var l in cfg.Listeners)
                    servers.Find(l.EndPoint)?.Reload(cluster.Smtpd(l.Smtpd));
            }
            foreach (var l in cfg.QmqpdListeners)
                qmqpd.Find(l.EndPoint)?.Reload(l.Qmqpd);
            cleanup.Maps = cfg.CleanupMaps;
            log.Info("master", $"reload -- version {Version}, configuration {configDir ?? "(embedded defaults)"}");
        }
        catch (ConfigException e)
        {
            log.Warning("master", $"reload refused, keeping the running configuration: {e.Message}");
        }
    }
}
