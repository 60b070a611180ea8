// The smtpd services of master.cf by listen address, so one Kestrel
// ConnectionHandler type serves every smtpd service with that service's own
// -o overrides.
using System.Net;
using Postfix.Protocols.Smtpd;

namespace Postfix.Host.Master;

public sealed class SmtpdServers : ISmtpdServerResolver
{
    private readonly Dictionary<IPEndPoint, SmtpdServer> _byEndPoint = new();
    private readonly Dictionary<int, SmtpdServer> _byPort = new();

    public IEnumerable<SmtpdServer> All => _byEndPoint.Values.Distinct();

    public void Add(string service, IPEndPoint ep, SmtpdServer server)
    {
        _byEndPoint[ep] = server;
        _byPort.TryAdd(ep.Port, server);
    }

    public SmtpdServer? Find(IPEndPoint ep) => _byEndPoint.GetValueOrDefault(ep);

    public SmtpdServer Resolve(EndPoint? local)
    {
        if (local is IPEndPoint ip)
        {
            if (_byEndPoint.TryGetValue(ip, out var s)) return s;
            if (_byPort.TryGetValue(ip.Port, out s)) return s;
        }
        return _byEndPoint.Values.First();
    }
}
