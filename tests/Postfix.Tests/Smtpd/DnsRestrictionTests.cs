// reject_rbl_client and reject_unknown_sender_domain against a real loopback
// DNS server (dnsmasq, answering only what the test gives it): a client listed
// in the DNSBL gets Postfix's 554 with the TXT reason, an unlisted one is
// served; a sender domain with no MX/A record gets 450 4.1.8.
using System.Net;
using System.Text.RegularExpressions;
using Postfix.Protocols.Smtpd;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Smtpd;

public class DnsRestrictionTests
{
    private static async Task<string> RcptReplyAsync(MtaInstance mta, IPAddress from, string sender)
    {
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port, from);
        Assert.StartsWith("220 ", await c.ReadReplyAsync());
        await c.SendAsync($"EHLO client.example\r\nMAIL FROM:<{sender}>\r\nRCPT TO:<user@mx.test.example>\r\n");
        await c.ReadReplyAsync();
        await c.ReadReplyAsync();
        return (await c.ReadReplyAsync()).TrimEnd();
    }

    [Fact]
    public async Task RblListedClientIsRejectedWithTheTxtReason()
    {
        await using var dns = await DnsMasq.StartAsync([
            "--local=/rbl.test/", "--local=/example/",
            "--host-record=3.0.0.127.rbl.test,127.0.0.2",
            "--txt-record=3.0.0.127.rbl.test,Listed for testing",
        ], ("good.example", "mx.good.example", "127.0.0.9"));
        await using var mta = await MtaInstance.StartAsync($"""
            smtp_dns_servers = 127.0.0.1:{dns.Port}
            smtpd_client_restrictions = reject_rbl_client rbl.test
            smtpd_sender_restrictions = reject_unknown_sender_domain
            mynetworks = 127.0.0.1/32
            """);
        Assert.Equal("554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked using rbl.test; Listed for testing",
            await RcptReplyAsync(mta, IPAddress.Parse("127.0.0.3"), "a@good.example"));
        Assert.StartsWith("250 ", await RcptReplyAsync(mta, IPAddress.Parse("127.0.0.4"), "a@good.example"));
        Assert.Equal("450 4.1.8 <a@nowhere.example>: Sender address rejected: Domain not found",
            await RcptReplyAsync(mta, IPAddress.Parse("127.0.0.4"), "a@nowhere.example"));
        Assert.True(await Repo.WaitUntilAsync(() => Regex.IsMatch(mta.Maillog,
            @"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.3\]: 554 5\.7\.1 Service unavailable; Client host \[127\.0\.0\.3\] blocked using rbl\.test"), TimeSpan.FromSeconds(10)), mta.Maillog);
    }

    [Theory]
    [InlineData("192.0.2.1", "1.2.0.192")]
    [InlineData("2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2")]
    public void ReverseNames(string ip, string expected) => Assert.Equal(expected, SmtpdDns.ReverseName(IPAddress.Parse(ip)));
}
