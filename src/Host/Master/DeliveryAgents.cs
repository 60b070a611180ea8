// Binds master.cf's delivery services (Postfix: "smtp unix - - n - - smtp",
// "relay ... smtp", "lmtp ... lmtp") to delivery-agent instances, by
// transport name, for qmgr.
using Postfix.Core.Config;
using Postfix.Core.Delivery;

namespace Postfix.Host.Master;

public static class DeliveryAgents
{
    public static IReadOnlyDictionary<string, IDeliveryAgent> Create(MasterConfig cfg)
    {
        var agents = new Dictionary<string, IDeliveryAgent>(StringComparer.Ordinal);
        foreach (var svc in cfg.Master.Services)
        {
            if (svc.Type != MasterServiceType.Unix) continue;
            var agent = svc.Command switch
            {
                _ => null as IDeliveryAgent,
            };
            if (agent != null) agents[svc.Name] = agent;
        }
        return agents;
    }
}
