// trivial-rewrite's resolve step and the transport_maps tables it consults.
using Postfix.Core.Config;
using Postfix.Core.Rewrite;
using Postfix.Core.Tables;
using Xunit;

namespace Postfix.Tests.Rewrite;

public sealed class TrivialRewriteResolverTests
{
    private static TrivialRewriteResolver Make(string relayhost = "", string transportMaps = "", string relayDomains = "") =>
        new(["mx.example", "localhost"], LookupTables.SplitList(relayDomains), relayhost, "smtp", "relay", "local:mx.example",
            LookupTables.OpenList(transportMaps));

    [Fact]
    public void RemoteDomainGoesToDefaultTransportWithDomainAsNexthop() =>
        Assert.Equal(new ResolvedAddress(AddressClass.Default, "smtp", "example.net"), Make().Resolve("u@Example.NET"));

    [Fact]
    public void RelayhostReplacesTheNexthop() =>
        Assert.Equal("smtp:[10.0.0.1]:2525", Make("[10.0.0.1]:2525").Resolve("u@example.net").Destination);

    [Fact]
    public void LocalDomainAndBareUserAreLocal()
    {
        Assert.Equal(AddressClass.Local, Make().Resolve("u@mx.example").Class);
        Assert.Equal("local", Make().Resolve("postmaster").Transport);
    }

    [Fact]
    public void RelayDomainsIncludeSubdomainsAndUseRelayTransport()
    {
        var r = Make(relayDomains: "partner.example");
        Assert.Equal(new ResolvedAddress(AddressClass.Relay, "relay", "partner.example"), r.Resolve("u@partner.example"));
        Assert.Equal(AddressClass.Relay, r.Resolve("u@eu.partner.example").Class);
    }

    [Fact]
    public void TransportMapsFollowTransport5KeyOrder()
    {
        var r = Make(transportMaps: "inline:{ vip@example.net = smtp:[10.0.0.9]:25, example.net = lmtp:inet:127.0.0.1:24, .sub.example.org = relay:, * = smtp:[10.0.0.1] }");
        Assert.Equal("smtp:[10.0.0.9]:25", r.Resolve("vip@example.net").Destination);      // full address
        Assert.Equal("lmtp:inet:127.0.0.1:24", r.Resolve("other@example.net").Destination); // domain
        Assert.Equal("relay:deep.sub.example.org", r.Resolve("u@deep.sub.example.org").Destination); // parent, empty nexthop kept
        Assert.Equal("smtp:[10.0.0.1]", r.Resolve("u@elsewhere.test").Destination);         // "*"
    }

    [Fact]
    public void TextHashTableIsReadWithCommentsAndContinuations()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "# transport\nexample.com   smtp:[127.0.0.1]:2526\n\nexample.org\n  relay:[10.1.1.1]\n");
            var t = LookupTables.Open("texthash:" + file);
            Assert.Equal("smtp:[127.0.0.1]:2526", t.Lookup("EXAMPLE.com"));
            Assert.Equal("relay:[10.1.1.1]", t.Lookup("example.org"));
            Assert.Null(t.Lookup("example.net"));
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void BadTablesAreConfigErrors()
    {
        Assert.Throws<ConfigException>(() => LookupTables.Open("texthash:/nonexistent/file"));
        Assert.Throws<ConfigException>(() => LookupTables.Open("ldap:/etc/postfix/ldap.cf"));
        Assert.Throws<ConfigException>(() => LookupTables.Open("inline:{ novalue }"));
        Assert.Equal("x", LookupTables.Open("static:x").Lookup("anything"));
    }

    private static TrivialRewriteResolver WithVirtualDomains() => new(
        new DomainList(["host.example", "localhost"], null, false), new DomainList(["relay.example"], null, true),
        new DomainList(["alias.example", "inline:{ tabled-alias.example=x }"], null, false),
        new DomainList(["mbox.example"], null, false),
        "", "smtp", "relay", "local", "virtual", null);

    [Fact]
    public void AddressClassesInPostfixOrder()
    {
        var r = WithVirtualDomains();
        Assert.Equal(new ResolvedAddress(AddressClass.Local, "local", "host.example"), r.Resolve("bob@host.example"));
        Assert.Equal(new ResolvedAddress(AddressClass.VirtualAlias, "error", "5.1.1 User unknown in virtual alias table"), r.Resolve("nobody@alias.example"));
        Assert.Equal(AddressClass.VirtualAlias, r.Resolve("x@tabled-alias.example").Class); // type:table domain list entry
        Assert.Equal(new ResolvedAddress(AddressClass.VirtualMailbox, "virtual", "mbox.example"), r.Resolve("bob@MBOX.example."));
        Assert.Equal(new ResolvedAddress(AddressClass.Relay, "relay", "sub.relay.example"), r.Resolve("x@sub.relay.example"));
        Assert.Equal(new ResolvedAddress(AddressClass.Default, "smtp", "other.example"), r.Resolve("x@other.example"));
    }

    [Fact]
    public void ErrorAgentParsesStatusFromTheNexthop()
    {
        Assert.Equal(("5.1.1", "User unknown in virtual alias table"), Postfix.Core.Delivery.ErrorDeliveryAgent.Parse("5.1.1 User unknown in virtual alias table", false));
        Assert.Equal(("4.1.1", "User unknown in virtual alias table"), Postfix.Core.Delivery.ErrorDeliveryAgent.Parse("5.1.1 User unknown in virtual alias table", true));
        Assert.Equal(("5.0.0", "mailbox closed"), Postfix.Core.Delivery.ErrorDeliveryAgent.Parse("mailbox closed", false));
        Assert.Equal(("4.0.0", "delivery temporarily suspended"), Postfix.Core.Delivery.ErrorDeliveryAgent.Parse("", true));
    }
}
