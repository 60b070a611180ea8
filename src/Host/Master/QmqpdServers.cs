// The qmqpd services of master.cf by listen address, so one Kestrel
// ConnectionHandler type serves every qmqpd service with that service's own
// -o overrides (the QMQP twin of SmtpdServers).
using System.Net;
using Postfix.Protocols.Qmqpd;

namespace Postfix.Host.Master;

public sealed class QmqpdServers : IQmqpdServerResolver
{
    private readonly Dictionary<IPEndPoint, QmqpdServer> _byEndPoint = new();
    private readonly Dictionary<int, QmqpdServer> _byPort = new();

    public IEnumerable<QmqpdServer> All => _byEndPoint.Values.Distinct();

    public void Add(IPEndPoint ep, QmqpdServer server)
    {
        _byEndPoint[ep] = server;
        _byPort.TryAdd(ep.Port, server);
    }

    public QmqpdServer? Find(IPEndPoint ep) => _byEndPoint.GetValueOrDefault(ep);

    public QmqpdServer Resolve(EndPoint? local)
    {
        if (local is IPEndPoint ip)
        {
            if (_byEndPoint.TryGetValue(ip, out var s)) return s;
            if (_byPort.TryGetValue(ip.Port, out s)) return s;
        }
        return _byEndPoint.Values.First();
    }
}
