// Kestrel's entry point for smtpd(8): the ConnectionHandler registered with
// UseConnectionHandler on each smtpd listener; one SmtpdSession per accepted
// connection (Postfix: single_server_main's callback). The resolver picks the
// master.cf service (and its -o overrides) by the local endpoint.
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Postfix.Protocols.Smtpd;

public interface ISmtpdServerResolver
{
    SmtpdServer Resolve(EndPoint? localEndPoint);
}

public sealed class SmtpdConnectionHandler(ISmtpdServerResolver servers) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) =>
        new SmtpdSession(servers.Resolve(connection.LocalEndPoint), connection).RunAsync();
}
