// Kestrel's entry point for qmqpd(8): the ConnectionHandler registered with
// UseConnectionHandler on each qmqpd listener of master.cf; one QmqpdSession
// per accepted connection (Postfix: qmqpd_service, single_server_main's
// callback). The resolver picks the service (and its -o overrides) by the
// local endpoint.
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Postfix.Protocols.Qmqpd;

public interface IQmqpdServerResolver
{
    QmqpdServer Resolve(EndPoint? localEndPoint);
}

public sealed class QmqpdConnectionHandler(IQmqpdServerResolver servers) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) =>
        new QmqpdSession(servers.Resolve(connection.LocalEndPoint), connection).RunAsync();
}
