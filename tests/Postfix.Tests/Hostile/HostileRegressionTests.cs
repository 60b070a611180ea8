// Regressions for the bugs the hostile-input corpus found in smtpd, each as
// the smallest dialogue that went wrong, on an MTA with small limits so the
// edges are a few commands away (the corpus holds the full-size cases).
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
}
