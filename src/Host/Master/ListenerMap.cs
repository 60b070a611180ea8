// The daemon instances of master.cf's inet services by listen address, so one
// Kestrel ConnectionHandler type per protocol serves every service of that
// protocol with the service's own -o overrides: the exact address first,
// then the port (a wildcard listener), else the first service.
using System.Net;

namespace Postfix.Host.Master;

public class ListenerMap<TServer> where TServer : class
{
    private readonly Dictionary<IPEndPoint, TServer> _byEndPoint = new();
    private readonly Dictionary<int, TServer> _byPort = new();

    public IEnumerable<TServer> All => _byEndPoint.Values.Distinct();

    public void Add(IPEndPoint ep, TServer server)
    {
        _byEndPoint[ep] = server;
        _byPort.TryAdd(ep.Port, server);
    }

    public TServer? Find(IPEndPoint ep) => _byEndPoint.GetValueOrDefault(ep);

    public TServer Resolve(EndPoint? local)
    {
        if (local is IPEndPoint ip)
        {
            if (_byEndPoint.TryGetValue(ip, out var s)) return s;
            if (_byPort.TryGetValue(ip.Port, out s)) return s;
        }
        return _byEndPoint.Values.First();
    }
}

/// <summary>smtpd services by listen address.</summary>
public sealed class SmtpdServers : ListenerMap<Protocols.Smtpd.SmtpdServer>, Protocols.Smtpd.ISmtpdServerResolver;

/// <summary>qmqpd services by listen address.</summary>
public sealed class QmqpdServers : ListenerMap<Protocols.Qmqpd.QmqpdServer>, Protocols.Qmqpd.IQmqpdServerResolver;
