// Binds master.cf's delivery services (Postfix: "smtp unix - - n - - smtp",
// "relay ... smtp", "lmtp ... lmtp", "local ... local", "virtual ... virtual")
// to delivery-agent instances, by transport name, for qmgr. Per-service -o
// overrides apply to that agent.
using System.Net;
using Postfix.Core.Cleanup;
using Postfix.Core.Config;
using Postfix.Core.Delivery;
using Postfix.Core.Local;
using Postfix.Core.Logging;
using Postfix.Core.Virtual;
using Postfix.Protocols.Smtp;

namespace Postfix.Host.Master;

public static class DeliveryAgents
{
    /// <summary>The agents by service name; <paramref name="cleanup"/> is where local(8) forwards mail.</summary>
    public static IReadOnlyDictionary<string, IDeliveryAgent> Create(MasterConfig cfg, CleanupService cleanup, Maillog log)
    {
        var agents = new Dictionary<string, IDeliveryAgent>(StringComparer.Ordinal);
        foreach (var svc in cfg.Master.Services)
        {
            if (svc.Type == MasterServiceType.Unix && svc.Command == "error")
            {
                // master.cf "error ... error" bounces; "retry ... error" defers (Postfix: same program, named retry).
                agents[svc.Name] = new ErrorDeliveryAgent(retry: svc.Name == "retry");
                continue;
            }
            if (svc.Type != MasterServiceType.Unix || svc.Command is not ("smtp" or "lmtp" or "local" or "virtual")) continue;
            var main = svc.Overrides.Count > 0 ? cfg.Main.WithOverrides(svc.Overrides) : cfg.Main;
            var settings = svc.Overrides.Count > 0 ? MailSettings.From(main) : cfg.Settings;
            agents[svc.Name] = svc.Command switch
            {
                "local" => new LocalDeliveryAgent(LocalSettings.From(main, settings), cleanup, cfg.Resolver.Resolve, log),
                "virtual" => new VirtualDeliveryAgent(VirtualSettings.From(main, settings), log),
                _ => new SmtpDeliveryAgent(ClientSettings(settings, main, lmtp: svc.Command == "lmtp")),
            };
        }
        return agents;
    }

    public static SmtpClientSettings ClientSettings(MailSettings s, MainCf main, bool lmtp) => new()
    {
        HeloName = s.SmtpHeloName,
        ConnectTimeout = s.SmtpConnectTimeout,
        HeloTimeout = s.SmtpHeloTimeout,
        MailTimeout = s.SmtpMailTimeout,
        RcptTimeout = s.SmtpRcptTimeout,
        DataInitTimeout = s.SmtpDataInitTimeout,
        DataXferTimeout = s.SmtpDataXferTimeout,
        DataDoneTimeout = s.SmtpDataDoneTimeout,
        QuitTimeout = s.SmtpQuitTimeout,
        ConnectionCacheOnDemand = s.SmtpConnectionCacheOnDemand,
        ConnectionCacheTimeLimit = main.GetTime(lmtp ? "lmtp_connection_cache_time_limit" : "smtp_connection_cache_time_limit"),
        Lmtp = lmtp,
        DnsServers = ParseServers(main),
    };

    private static IReadOnlyList<IPEndPoint>? ParseServers(MainCf main)
    {
        var list = main.GetList("smtp_dns_servers");
        if (list.Count == 0) return null;
        var result = new List<IPEndPoint>();
        foreach (var item in list)
        {
            if (IPEndPoint.TryParse(item, out var ep)) result.Add(ep.Port == 0 ? new IPEndPoint(ep.Address, 53) : ep);
            else throw main.ErrorFor("smtp_dns_servers", $"bad resolver address \"{item}\": use IP or IP:port");
        }
        return result;
    }
}
