// Next-hop resolution as smtp_addr.c does it, against a fake DNS server on
// loopback: MX preference order, moving on to the next MX after a connection
// failure, a 4xx banner or a 4xx recipient (but not a 5xx), implicit MX, null
// MX, NXDOMAIN and SERVFAIL. MX hosts live on 127.0.0.2 and 127.0.0.3.
using System.Net;
using System.Net.Sockets;
using Postfix.Core.Delivery;
using Postfix.Protocols.Smtp;
using Xunit;
using static Postfix.Tests.Smtp.SmtpTestMessages;

namespace Postfix.Tests.Smtp;

public sealed class SmtpMxTests
{
    private static readonly IPAddress Mx1 = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Mx2 = IPAddress.Parse("127.0.0.3");

    private static FakeDnsServer TwoMx() => new FakeDnsServer()
        .Mx("example.test", 20, "mx2.example.test")
        .Mx("example.test", 10, "mx1.example.test")
        .A("mx1.example.test", "127.0.0.2")
        .A("mx2.example.test", "127.0.0.3");

    // A port free on both MX addresses.
    private static int SharedPort()
    {
        var l = new TcpListener(Mx2, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public async Task ConnectionFailureAtTheBestMxFallsBackToTheNext()
    {
        await using var dns = TwoMx();
        int port = SharedPort();
        await using var mx2 = FakeSmtpServer.Scripted(new FakeSmtpScript(), Mx2, port);
        await using var agent = new SmtpDeliveryAgent(Settings(dns: dns.EndPoint));
        var report = await agent.DeliverAsync(Request(Message(), $"example.test:{port}"), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal(DeliveryStatus.Sent, r.Status);
        Assert.Equal($"mx2.example.test[127.0.0.3]:{port}", report.Relay);
    }

    [Fact]
    public async Task BestMxIsTriedFirst()
    {
        await using var dns = TwoMx();
        int port = SharedPort();
        await using var mx1 = FakeSmtpServer.Scripted(new FakeSmtpScript(), Mx1, port);
        await using var mx2 = FakeSmtpServer.Scripted(new FakeSmtpScript(), Mx2, port);
        await using var agent = new SmtpDeliveryAgent(Settings(dns: dns.EndPoint, cache: false));
        for (int i = 0; i < 3; i++)
        {
            var report = await agent.DeliverAsync(Request(Message(), $"example.test:{port}"), Bound());
            Assert.Equal($"mx1.example.test[127.0.0.2]:{port}", report.Relay);
        }
        Assert.Equal(0, mx2.Accepts);
    }

    [Fact]
    public async Task SoftRecipientFailureIsRetriedAtTheNextMxButHardIsFinal()
    {
        await using var dns = TwoMx();
        int port = SharedPort();
        await using var mx1 = FakeSmtpServer.Scripted(new FakeSmtpScript
        {
            Rcpt = l => l.Contains("<soft@") ? "450 4.2.0 mailbox busy" : l.Contains("<hard@") ? "550 5.1.1 unknown" : "250 2.1.5 Ok",
            EndOfData = (_, _) => ["250 2.0.0 Ok: queued as MX1"],
        }, Mx1, port);
        await using var mx2 = FakeSmtpServer.Scripted(new FakeSmtpScript { EndOfData = (_, _) => ["250 2.0.0 Ok: queued as MX2"] }, Mx2, port);
        await using var agent = new SmtpDeliveryAgent(Settings(dns: dns.EndPoint));
        var report = await agent.DeliverAsync(Request(Message(recipients: ["ok@x", "soft@x", "hard@x"]), $"example.test:{port}"), Bound());

        Assert.Collection(report.Results,
            r => Assert.Equal((DeliveryStatus.Sent, "250 2.0.0 Ok: queued as MX1"), (r.Status, r.Diagnostic)),
            r => Assert.Equal((DeliveryStatus.Sent, "250 2.0.0 Ok: queued as MX2"), (r.Status, r.Diagnostic)),
            r => Assert.Equal((DeliveryStatus.Bounced, "5.1.1"), (r.Status, r.Dsn)));
        Assert.Contains("RCPT TO:<soft@x>", mx2.Commands);
        Assert.DoesNotContain("RCPT TO:<hard@x>", mx2.Commands);
        Assert.DoesNotContain("RCPT TO:<ok@x>", mx2.Commands);
    }

    [Fact]
    public async Task SoftFailureAtTheLastMxIsDeferredWithThatServersReason()
    {
        await using var dns = TwoMx();
        int port = SharedPort();
        await using var mx1 = FakeSmtpServer.Scripted(new FakeSmtpScript { Greeting = "421 4.3.2 mx1 busy" }, Mx1, port);
        await using var mx2 = FakeSmtpServer.Scripted(new FakeSmtpScript { Rcpt = _ => "451 4.3.0 mx2 lookup failure" }, Mx2, port);
        await using var agent = new SmtpDeliveryAgent(Settings(dns: dns.EndPoint));
        var report = await agent.DeliverAsync(Request(Message(), $"example.test:{port}"), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.3.0"), (r.Status, r.Dsn));
        Assert.Equal("host mx2.example.test[127.0.0.3] said: 451 4.3.0 mx2 lookup failure (in reply to RCPT TO command)", r.Diagnostic);
        Assert.Equal(1, mx1.Accepts);
    }

    [Fact]
    public async Task DomainWithoutMxIsItsOwnMx()
    {
        await using var dns = new FakeDnsServer().A("plain.test", "127.0.0.2");
        int port = SharedPort();
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript(), Mx1, port);
        await using var agent = new SmtpDeliveryAgent(Settings(dns: dns.EndPoint));
        var report = await agent.DeliverAsync(Request(Message(), $"plain.test:{port}"), Bound());
        Assert.Equal(DeliveryStatus.Sent, report.Results[0].Status);
        Assert.Equal($"plain.test[127.0.0.2]:{port}", report.Relay);
    }

    [Fact]
    public async Task BracketedHostSkipsTheMxLookup()
    {
        await using var dns = TwoMx().A("example.test", "127.0.0.3");
        int port = SharedPort();
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript(), Mx2, port);
        await using var agent = new SmtpDeliveryAgent(Settings(dns: dns.EndPoint));
        var report = await agent.DeliverAsync(Request(Message(), $"[example.test]:{port}"), Bound());
        Assert.Equal($"example.test[127.0.0.3]:{port}", report.Relay);
    }

    [Fact]
    public async Task MxHostWithoutAddressIsSkipped()
    {
        await using var dns = new FakeDnsServer()
            .Mx("example.test", 10, "gone.example.test")
            .Mx("example.test", 20, "mx2.example.test")
            .A("mx2.example.test", "127.0.0.3");
        int port = SharedPort();
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript(), Mx2, port);
        await using var agent = new SmtpDeliveryAgent(Settings(dns: dns.EndPoint));
        var report = await agent.DeliverAsync(Request(Message(), $"example.test:{port}"), Bound());
        Assert.Equal(DeliveryStatus.Sent, report.Results[0].Status);
    }

    [Fact]
    public async Task NxdomainBounces544()
    {
        await using var dns = new FakeDnsServer();
        await using var agent = new SmtpDeliveryAgent(Settings(dns: dns.EndPoint));
        var report = await agent.DeliverAsync(Request(Message(), "nowhere.test"), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Bounced, "5.4.4"), (r.Status, r.Dsn));
        Assert.Equal("Host or domain name not found. Name service error for name=nowhere.test type=MX: Host not found", r.Diagnostic);
        Assert.Equal("none", report.Relay);
    }

    [Fact]
    public async Task ServfailDefers443()
    {
        await using var dns = new FakeDnsServer().ServFail("broken.test");
        await using var agent = new SmtpDeliveryAgent(Settings(dns: dns.EndPoint));
        var report = await agent.DeliverAsync(Request(Message(), "broken.test"), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.4.3"), (r.Status, r.Dsn));
        Assert.Equal("Host or domain name not found. Name service error for name=broken.test type=MX: Host not found, try again", r.Diagnostic);
    }

    [Fact]
    public async Task UnreachableDnsServerDefers443()
    {
        var closed = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var endPoint = (IPEndPoint)closed.Client.LocalEndPoint!;
        closed.Dispose();
        await using var agent = new SmtpDeliveryAgent(Settings(dns: endPoint));
        var report = await agent.DeliverAsync(Request(Message(), "example.test"), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.4.3"), (r.Status, r.Dsn));
    }

    [Fact]
    public async Task NullMxBounces()
    {
        await using var dns = new FakeDnsServer().Mx("nullmx.test", 0, ".");
        await using var agent = new SmtpDeliveryAgent(Settings(dns: dns.EndPoint));
        var report = await agent.DeliverAsync(Request(Message(), "nullmx.test"), Bound());

        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Bounced, "5.1.0"), (r.Status, r.Dsn));
        Assert.Equal("Domain nullmx.test does not accept mail (nullMX)", r.Diagnostic);
    }

    [Fact]
    public async Task LocalhostNeedsNoDns()
    {
        await using var server = FakeSmtpServer.Scripted(new FakeSmtpScript());
        await using var agent = new SmtpDeliveryAgent(Settings(dns: new IPEndPoint(IPAddress.Loopback, 9)));
        var report = await agent.DeliverAsync(Request(Message(), $"[localhost]:{server.Port}"), Bound());
        Assert.Equal($"localhost[127.0.0.1]:{server.Port}", report.Relay);
    }
}
