// Regressions for the bugs the hostile-input corpus found in smtpd, each as
// the smallest dialogue that went wrong, on an MTA with small limits so the
// edges are a few commands away (the corpus holds the full-size cases).
using System.Text;
using Postfix.Protocols.Smtpd;
using Postfix.Tests.Smtpd;
using Xunit;

namespace Postfix.Tests.Hostile;

public sealed class HostileRegressionTests(HostileRegressionTests.Fixture mta) : IClassFixture<HostileRegressionTests.Fixture>
{
    public sealed class Fixture : MtaFixture
    {
        protected override string MainCfExtra => """
            smtpd_error_sleep_time = 0
            smtpd_recipient_limit = 3
            smtpd_recipient_overshoot_limit = 2
            smtpd_hard_error_limit = 3
            message_size_limit = 1000
            """;
    }

    private async Task<SmtpWire> TransactionAsync()
    {
        var w = await SmtpWire.OpenAsync(mta.Port);
        Assert.Equal(250, (await w.CommandAsync("EHLO regress.example")).Code);
        Assert.Equal(250, (await w.CommandAsync("MAIL FROM:<s@regress.example>")).Code);
        return w;
    }

    [Fact]
    public async Task RecipientsPastTheLimitAreNotErrorsUpToTheOvershootLimit()
    {
        // Was: every 452 counted as an error, so smtpd_hard_error_limit cut the
        // client off before DATA (Postfix: smtpd_recipient_overshoot_limit).
        using var w = await TransactionAsync();
        for (int i = 0; i < 3; i++) Assert.Equal(250, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        for (int i = 0; i < 2; i++)
            Assert.Equal("452 4.5.3 Error: too many recipients", (await w.CommandAsync("RCPT TO:<r@example.net>")).Last);
        Assert.Equal(354, (await w.CommandAsync("DATA")).Code);
        await w.SendAsync("Subject: x\r\n\r\nbody\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", (await w.ReadReplyAsync()).Last);
    }

    [Fact]
    public async Task RecipientsPastTheOvershootLimitAreErrors()
    {
        using var w = await TransactionAsync();
        for (int i = 0; i < 3; i++) Assert.Equal(250, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        for (int i = 0; i < 2 + 2; i++) Assert.Equal(452, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        Assert.Equal(452, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code); // third error
        Assert.StartsWith("421 4.7.0 ", (await w.ReadReplyAsync()).Last);
        Assert.True(await w.ClosedByServerAsync());
    }

    [Fact]
    public async Task OvershootCountStartsAgainWithTheNextTransaction()
    {
        using var w = await TransactionAsync();
        for (int i = 0; i < 3; i++) Assert.Equal(250, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        for (int i = 0; i < 2; i++) Assert.Equal(452, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        Assert.Equal(250, (await w.CommandAsync("RSET")).Code);
        Assert.Equal(250, (await w.CommandAsync("MAIL FROM:<s@regress.example>")).Code);
        for (int i = 0; i < 3; i++) Assert.Equal(250, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        for (int i = 0; i < 2; i++) Assert.Equal(452, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        Assert.Equal(250, (await w.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task DataInsideATransactionWithoutRecipientsIsNoValidRecipients()
    {
        // Was "503 5.5.1 Error: need RCPT command"; Postfix answers 554 (smtpd.c data_cmd).
        using var w = await TransactionAsync();
        await w.SendAsync("RCPT TO:<>\r\nDATA\r\n");
        Assert.StartsWith("501 5.1.3 ", (await w.ReadReplyAsync()).Last);
        Assert.Equal("554 5.5.1 Error: no valid recipients", (await w.ReadReplyAsync()).Last);
        Assert.Equal(250, (await w.CommandAsync("RSET")).Code);
        Assert.Equal("503 5.5.1 Error: need RCPT command", (await w.CommandAsync("DATA")).Last);
    }

    [Fact]
    public async Task BdatInsideATransactionWithoutRecipientsIsNoValidRecipients()
    {
        using var w = await TransactionAsync();
        await w.SendAsync("BDAT 4 LAST\r\nNOOP");
        Assert.Equal("554 5.5.1 Error: no valid recipients", (await w.ReadReplyAsync()).Last);
        Assert.Equal(250, (await w.CommandAsync("NOOP")).Code);
    }

    [Theory]
    [InlineData("r@example.net", PathStatus.Ok)]
    [InlineData("r@example.net.", PathStatus.Ok)]
    [InlineData("r@mail_host.example", PathStatus.Ok)]
    [InlineData("r@[192.0.2.1]", PathStatus.Ok)]
    [InlineData("r@[IPv6:2001:db8::1]", PathStatus.Ok)]
    [InlineData("r@[ipv6:::1]", PathStatus.Ok)]
    [InlineData("\"a@b\"", PathStatus.Ok)]
    [InlineData("postmaster", PathStatus.Ok)]
    [InlineData("r@[999.1.1.1]", PathStatus.BadAddress)]
    [InlineData("r@[192.0.2]", PathStatus.BadAddress)]
    [InlineData("r@[192.0.2.1", PathStatus.BadAddress)]
    [InlineData("r@[1.2.3.4.5]", PathStatus.BadAddress)]
    [InlineData("r@[0x7f.0.0.1]", PathStatus.BadAddress)]
    [InlineData("r@[2001:db8::1]", PathStatus.BadAddress)]
    [InlineData("r@[IPv6:zz::1]", PathStatus.BadAddress)]
    [InlineData("r@[IPv6:fe80::1%eth0]", PathStatus.BadAddress)]
    [InlineData("r@example..net", PathStatus.BadAddress)]
    [InlineData("r@example.net..", PathStatus.BadAddress)]
    [InlineData("r@.example.net", PathStatus.BadAddress)]
    [InlineData("r@-bad.example", PathStatus.BadAddress)]
    [InlineData("r@bad-.example", PathStatus.BadAddress)]
    [InlineData("r@192.0.2.1", PathStatus.BadAddress)]
    [InlineData("r@example.net/x", PathStatus.BadAddress)]
    [InlineData("r@exa%mple.net", PathStatus.BadAddress)]
    [InlineData("r@evil.example@example.net", PathStatus.Ok)] // the last '@' starts the domain, as in Postfix
    public void DomainsAreCheckedLikePostfixValidHostname(string address, PathStatus expected)
    {
        // Was: any domain accepted, so "r@[999.1.1.1]" or "r@a..b" went into the queue to bounce later.
        Assert.Equal(expected, SmtpPathParser.TryParse(Encoding.ASCII.GetBytes($"TO:<{address}>"), "TO:"u8, out _, out _));
    }

    [Fact]
    public void LabelAndNameLengthsFollowValidHostname()
    {
        Assert.True(SmtpPathParser.IsValidDomain(Encoding.ASCII.GetBytes(new string('a', 63) + ".example")));
        Assert.False(SmtpPathParser.IsValidDomain(Encoding.ASCII.GetBytes(new string('a', 64) + ".example")));
        string name255 = string.Join('.', Enumerable.Repeat(new string('b', 63), 4))[..255];
        Assert.True(SmtpPathParser.IsValidDomain(Encoding.ASCII.GetBytes(name255)));
        Assert.False(SmtpPathParser.IsValidDomain(Encoding.ASCII.GetBytes(name255 + "c")));
        Assert.True(SmtpPathParser.IsValidDomain("bücher.example"u8));
    }

    [Fact]
    public async Task BadDomainsAreRefusedOnTheWire()
    {
        using var w = await TransactionAsync();
        Assert.Equal("501 5.1.3 Bad recipient address syntax", (await w.CommandAsync("RCPT TO:<r@[999.1.1.1]>")).Last);
        Assert.Equal(250, (await w.CommandAsync("RSET")).Code);
        Assert.Equal("501 5.1.7 Bad sender address syntax", (await w.CommandAsync("MAIL FROM:<s@bad..example>")).Last);
    }

    [Theory]
    [InlineData("MAIL FROM:<s@regress.example> RET=FULL RET=HDRS", "501 5.5.4 Bad RET parameter syntax")]
    [InlineData("MAIL FROM:<s@regress.example> ENVID=a ENVID=b", "501 5.5.4 Bad ENVID parameter syntax")]
    public async Task DuplicateDsnParametersOnMailAreSyntaxErrors(string command, string reply)
    {
        // Was: the second one silently replaced the first.
        using var w = await SmtpWire.OpenAsync(mta.Port);
        Assert.Equal(reply, (await w.CommandAsync(command)).Last);
        Assert.Equal(250, (await w.CommandAsync("MAIL FROM:<s@regress.example> RET=FULL ENVID=a")).Code);
    }

    [Theory]
    [InlineData("RCPT TO:<r@example.net> NOTIFY=SUCCESS NOTIFY=FAILURE", "501 5.5.4 Error: Bad NOTIFY parameter syntax")]
    [InlineData("RCPT TO:<r@example.net> ORCPT=rfc822;a@x ORCPT=rfc822;b@x", "501 5.5.4 Error: Bad ORCPT parameter syntax")]
    public async Task DuplicateDsnParametersOnRcptAreSyntaxErrors(string command, string reply)
    {
        using var w = await TransactionAsync();
        Assert.Equal(reply, (await w.CommandAsync(command)).Last);
        Assert.Equal(250, (await w.CommandAsync("RCPT TO:<r@example.net> NOTIFY=SUCCESS ORCPT=rfc822;a@x")).Code);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MessageExactlyAtTheSizeLimitIsAcceptedByDataAndBdatAlike(bool bdat)
    {
        // Was: BDAT counted our own Received: header against message_size_limit,
        // so a message DATA accepted was refused over BDAT.
        string content = string.Concat(Enumerable.Repeat(new string('x', 98) + "\r\n", 10)); // 1000 octets
        using var w = await TransactionAsync();
        Assert.Equal(250, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        if (bdat) await w.SendAsync($"BDAT {content.Length} LAST\r\n{content}");
        else
        {
            Assert.Equal(354, (await w.CommandAsync("DATA")).Code);
            await w.SendAsync(content + ".\r\n");
        }
        Assert.StartsWith("250 2.0.0 Ok: queued as ", (await w.ReadReplyAsync()).Last);

        Assert.Equal(250, (await w.CommandAsync("MAIL FROM:<s@regress.example>")).Code);
        Assert.Equal(250, (await w.CommandAsync("RCPT TO:<r@example.net>")).Code);
        if (bdat) await w.SendAsync($"BDAT {content.Length + 1} LAST\r\n{content}y");
        else
        {
            Assert.Equal(354, (await w.CommandAsync("DATA")).Code);
            await w.SendAsync(content + "y\r\n.\r\n");
        }
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit", (await w.ReadReplyAsync()).Last);
    }
}
