// smtpd(8) over a real socket against the real MTA process: the dialogue of
// RFC 5321 with Postfix's reply codes and wording, PIPELINING (RFC 2920),
// CHUNKING (RFC 3030), SMTPUTF8 (RFC 6531), and the defences against hostile
// clients (bare <LF>, NUL, invalid UTF-8, overlong lines, error limits).
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Postfix.Tests.Smtpd;

public sealed class SmtpdProtocolTests(SmtpdProtocolTests.Fixture mta) : IClassFixture<SmtpdProtocolTests.Fixture>
{
    public sealed class Fixture : MtaFixture
    {
        protected override string MainCfExtra => """
            smtpd_error_sleep_time = 0
            smtpd_recipient_limit = 5
            """;
    }

    private static readonly Regex QueuedAs = new(@"^250 2\.0\.0 Ok: queued as ([0-9A-F]{12})$");

    private async Task<SmtpWire> OpenAsync() => await SmtpWire.OpenAsync(mta.Port);

    /// <summary>EHLO, MAIL and RCPT, each checked for 250.</summary>
    private async Task<SmtpWire> OpenTransactionAsync(params string[] rcpts)
    {
        var wire = await OpenAsync();
        Assert.Equal(250, (await wire.CommandAsync("EHLO client.example")).Code);
        Assert.Equal(250, (await wire.CommandAsync("MAIL FROM:<sender@client.example>")).Code);
        foreach (var r in rcpts.DefaultIfEmpty("rcpt@localhost"))
            Assert.Equal(250, (await wire.CommandAsync($"RCPT TO:<{r}>")).Code);
        return wire;
    }

    [Fact]
    public async Task GreetingIs220WithTheBanner()
    {
        using var wire = await SmtpWire.ConnectAsync(mta.Port);
        var greeting = await wire.ReadReplyAsync();
        Assert.Equal(220, greeting.Code);
        Assert.Single(greeting.Lines);
        Assert.Contains("ESMTP", greeting.Last);
    }

    [Fact]
    public async Task EhloAdvertisesExtensionsButNotVrfy()
    {
        using var wire = await OpenAsync();
        var ehlo = await wire.CommandAsync("EHLO client.example");
        Assert.Equal(250, ehlo.Code);
        Assert.Equal("250-mx.test.example", ehlo.Lines[0]);
        Assert.All(ehlo.Lines.SkipLast(1), l => Assert.StartsWith("250-", l));
        var keywords = ehlo.Lines.Skip(1).Select(l => l[4..]).ToList();
        foreach (var k in new[] { "PIPELINING", "SIZE 10240000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN" })
            Assert.Contains(k, keywords);
        Assert.DoesNotContain(keywords, k => k.StartsWith("VRFY", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HeloRepliesWithTheHostnameOnly()
    {
        using var wire = await OpenAsync();
        var helo = await wire.CommandAsync("HELO client.example");
        Assert.Equal(["250 mx.test.example"], helo.Lines);
    }

    [Fact]
    public async Task VrfyIsDisabled()
    {
        using var wire = await OpenAsync();
        Assert.StartsWith("502 5.5.1 ", (await wire.CommandAsync("VRFY postmaster")).Last);
    }

    [Fact]
    public async Task UnknownCommandIsNotRecognized()
    {
        using var wire = await OpenAsync();
        Assert.Equal("502 5.5.2 Error: command not recognized", (await wire.CommandAsync("XYZZY plugh")).Last);
        Assert.Equal(250, (await wire.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task HelpAnswers214()
    {
        using var wire = await OpenAsync();
        Assert.Equal(214, (await wire.CommandAsync("HELP")).Code);
    }

    [Fact]
    public async Task RcptBeforeMailIsBadSequence()
    {
        using var wire = await OpenAsync();
        await wire.CommandAsync("EHLO client.example");
        Assert.Equal("503 5.5.1 Error: need MAIL command", (await wire.CommandAsync("RCPT TO:<rcpt@localhost>")).Last);
    }

    [Fact]
    public async Task DataBeforeMailOrRcptIsBadSequence()
    {
        using var wire = await OpenAsync();
        await wire.CommandAsync("EHLO client.example");
        Assert.StartsWith("503 5.5.1 ", (await wire.CommandAsync("DATA")).Last);
        Assert.Equal(250, (await wire.CommandAsync("MAIL FROM:<sender@client.example>")).Code);
        Assert.Equal("554 5.5.1 Error: no valid recipients", (await wire.CommandAsync("DATA")).Last);
    }

    [Fact]
    public async Task NestedMailIsBadSequence()
    {
        using var wire = await OpenAsync();
        await wire.CommandAsync("EHLO client.example");
        Assert.Equal(250, (await wire.CommandAsync("MAIL FROM:<a@client.example>")).Code);
        Assert.Equal("503 5.5.1 Error: nested MAIL command", (await wire.CommandAsync("MAIL FROM:<b@client.example>")).Last);
        Assert.Equal(250, (await wire.CommandAsync("RSET")).Code);
        Assert.Equal(250, (await wire.CommandAsync("MAIL FROM:<b@client.example>")).Code);
    }

    [Fact]
    public async Task PipelinedTransactionIsAnsweredInOrderAndQueued()
    {
        int before = await mta.Mta.QueueCountAsync();
        using var wire = await OpenAsync();
        await wire.SendAsync("EHLO client.example\r\nMAIL FROM:<sender@client.example>\r\nRCPT TO:<rcpt@localhost>\r\nDATA\r\n");
        var replies = await wire.ReadRepliesAsync(4);
        Assert.Equal([250, 250, 250, 354], replies.Select(r => r.Code));
        Assert.True(replies[0].Lines.Count > 1, "first reply should be the multi-line EHLO reply");
        Assert.Equal("250 2.1.0 Ok", replies[1].Last);
        Assert.Equal("250 2.1.5 Ok", replies[2].Last);

        await wire.SendAsync("Subject: pipelined\r\n\r\nhello\r\n..stuffed\r\n.\r\n");
        var queued = await wire.ReadReplyAsync();
        var match = QueuedAs.Match(queued.Last);
        Assert.True(match.Success, "unexpected reply: " + queued);
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());

        Assert.Equal("221 2.0.0 Bye", (await wire.CommandAsync("QUIT")).Last);
        Assert.True(await wire.ClosedByServerAsync());
        var log = await mta.WaitForMaillogAsync($"{match.Groups[1].Value}: client=");
        Assert.Contains($"{match.Groups[1].Value}: client=", log);
    }

    [Fact]
    public async Task WholeTransactionInOneWriteIsAnsweredInOrder()
    {
        using var wire = await OpenAsync();
        await wire.SendAsync("EHLO c\r\nMAIL FROM:<s@c>\r\nRCPT TO:<r@localhost>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n");
        var replies = await wire.ReadRepliesAsync(7);
        Assert.Equal([250, 250, 250, 354, 250, 250, 221], replies.Select(r => r.Code));
        Assert.Matches(QueuedAs, replies[4].Last);
        Assert.True(await wire.ClosedByServerAsync());
    }

    [Fact]
    public async Task QuitSaysByeAndCloses()
    {
        using var wire = await OpenAsync();
        Assert.Equal("221 2.0.0 Bye", (await wire.CommandAsync("QUIT")).Last);
        Assert.True(await wire.ClosedByServerAsync());
    }

    [Fact]
    public async Task SizeParameterOverTheLimitIsRejectedAtMail()
    {
        using var wire = await OpenAsync();
        await wire.CommandAsync("EHLO client.example");
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit", (await wire.CommandAsync("MAIL FROM:<a@client.example> SIZE=99999999")).Last);
        Assert.Equal(250, (await wire.CommandAsync("MAIL FROM:<a@client.example> SIZE=1000")).Code);
    }

    [Fact]
    public async Task BareLfInDataIsRejectedAndNothingQueued()
    {
        int before = await mta.Mta.QueueCountAsync();
        using var wire = await OpenTransactionAsync();
        Assert.Equal(354, (await wire.CommandAsync("DATA")).Code);
        await wire.SendAsync("Subject: x\r\n\r\nhello\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@localhost>\r\nDATA\r\nsmuggled\r\n.\r\n");
        var reply = await wire.ReadReplyAsync();
        Assert.StartsWith("521 5.5.2 ", reply.Last);
        Assert.True(await wire.ClosedByServerAsync());
        Assert.Equal(before, await mta.Mta.QueueCountAsync());
    }

    [Fact]
    public async Task BareLfInCommandIsRejectedAndClosed()
    {
        using var wire = await OpenAsync();
        await wire.SendAsync("EHLO client.example\n");
        Assert.StartsWith("521 5.5.2 ", (await wire.ReadReplyAsync()).Last);
        Assert.True(await wire.ClosedByServerAsync());
    }

    [Fact]
    public async Task BareCrInCommandIsRejectedAndClosed()
    {
        using var wire = await OpenAsync();
        await wire.SendAsync("NOOP\rMAIL FROM:<evil@x>\r\n");
        Assert.StartsWith("521 5.5.2 ", (await wire.ReadReplyAsync()).Last);
        Assert.True(await wire.ClosedByServerAsync());
    }

    [Fact]
    public async Task OverlongCommandArrivingWithoutItsEndIsRejectedAndSessionContinues()
    {
        using var wire = await OpenAsync();
        await wire.SendAsync(new string('X', 3000));
        Assert.Equal("500 5.5.2 Error: line too long", (await wire.ReadReplyAsync()).Last);
        await wire.SendAsync(new string('X', 500) + "\r\n");
        Assert.Equal(250, (await wire.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task SixthRecipientOverTheLimitIsDeferredAndFiveAreQueued()
    {
        int before = await mta.Mta.QueueCountAsync();
        using var wire = await OpenTransactionAsync("r1@localhost", "r2@localhost", "r3@localhost", "r4@localhost", "r5@localhost");
        Assert.Equal("452 4.5.3 Error: too many recipients", (await wire.CommandAsync("RCPT TO:<r6@localhost>")).Last);
        Assert.Equal(354, (await wire.CommandAsync("DATA")).Code);
        await wire.SendAsync("Subject: five\r\n\r\nx\r\n.\r\n");
        Assert.Matches(QueuedAs, (await wire.ReadReplyAsync()).Last);
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());
    }

    [Fact]
    public async Task BdatChunksAreAcceptedAndTheLastOneQueues()
    {
        int before = await mta.Mta.QueueCountAsync();
        using var wire = await OpenTransactionAsync();
        await wire.SendAsync("BDAT 10\r\n0123456789");
        Assert.Equal("250 2.0.0 Ok: 10 bytes", (await wire.ReadReplyAsync()).Last);
        await wire.SendAsync("BDAT 5 LAST\r\nabcde");
        Assert.Matches(QueuedAs, (await wire.ReadReplyAsync()).Last);
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());
        Assert.Equal(250, (await wire.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task BdatChunkContainingCommandsIsDataNotCommands()
    {
        using var wire = await OpenTransactionAsync();
        const string chunk = "QUIT\r\n.\r\nRSET\r\n";
        await wire.SendAsync($"BDAT {chunk.Length} LAST\r\n{chunk}");
        Assert.Matches(QueuedAs, (await wire.ReadReplyAsync()).Last);
        Assert.Equal(250, (await wire.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task BdatWithNonNumericSizeIsRejectedAndDisconnects()
    {
        using var wire = await OpenTransactionAsync();
        await wire.SendAsync("BDAT ten\r\n0123456789");
        var replies = await wire.ReadRepliesAsync(2);
        Assert.StartsWith("501 5.5.4 ", replies[0].Last);
        Assert.StartsWith("421 4.5.0 ", replies[1].Last);
        Assert.True(await wire.ClosedByServerAsync());
    }

    [Fact]
    public async Task BdatWithoutRecipientsIsRejectedButTheChunkIsSkipped()
    {
        using var wire = await OpenAsync();
        await wire.CommandAsync("EHLO client.example");
        await wire.SendAsync("BDAT 6 LAST\r\nNOOP\r\n");
        Assert.Equal("503 5.5.1 Error: need RCPT command", (await wire.ReadReplyAsync()).Last);
        Assert.Equal(250, (await wire.CommandAsync("RSET")).Code);
    }

    [Fact]
    public async Task NulInCommandIsRejected()
    {
        using var wire = await OpenAsync();
        await wire.SendAsync("NO\0OP\r\n");
        Assert.Equal("500 5.5.2 Error: NUL character in command", (await wire.ReadReplyAsync()).Last);
        Assert.Equal(250, (await wire.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task TwentyErrorsCloseTheSessionWith421()
    {
        using var wire = await OpenAsync();
        await wire.SendAsync(string.Concat(Enumerable.Repeat("XYZZY\r\n", 20)));
        var replies = await wire.ReadRepliesAsync(21);
        Assert.All(replies.Take(20), r => Assert.Equal(502, r.Code));
        Assert.StartsWith("421 4.7.0 ", replies[20].Last);
        Assert.True(await wire.ClosedByServerAsync());
        await mta.WaitForMaillogAsync("too many errors after");
        Assert.Contains("too many errors after", mta.Mta.Maillog);
    }

    [Fact]
    public async Task NonAsciiSenderNeedsSmtpUtf8()
    {
        using var wire = await OpenAsync();
        await wire.CommandAsync("EHLO client.example");
        Assert.StartsWith("553 5.6.7 ", (await wire.CommandAsync("MAIL FROM:<jörg@bücher.example>")).Last);
        Assert.Equal("250 2.1.0 Ok", (await wire.CommandAsync("MAIL FROM:<jörg@bücher.example> SMTPUTF8")).Last);
        Assert.Equal("250 2.1.5 Ok", (await wire.CommandAsync("RCPT TO:<用户@localhost>")).Last);
    }

    [Fact]
    public async Task NonAsciiRecipientWithoutSmtpUtf8IsRejected()
    {
        using var wire = await OpenAsync();
        await wire.CommandAsync("EHLO client.example");
        await wire.CommandAsync("MAIL FROM:<a@client.example>");
        Assert.StartsWith("553 5.6.7 ", (await wire.CommandAsync("RCPT TO:<用户@localhost>")).Last);
    }

    [Fact]
    public async Task InvalidUtf8InCommandIsRejected()
    {
        using var wire = await OpenAsync();
        await wire.CommandAsync("EHLO client.example");
        byte[] line = [.. "MAIL FROM:<a"u8, 0xC3, 0x28, .. "@b>\r\n"u8];
        await wire.SendAsync(line);
        Assert.Equal("500 5.5.2 Error: bad UTF-8 syntax", (await wire.ReadReplyAsync()).Last);
        Assert.Equal(250, (await wire.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task DisconnectLineCountsCommandsOkOverTotal()
    {
        using var wire = await OpenAsync();
        await wire.SendAsync("EHLO c\r\nRSET\r\nMAIL FROM:<s@c>\r\nRCPT TO:<r@localhost>\r\nDATA\r\nx\r\n.\r\nNOOP\r\nXYZZY\r\nQUIT\r\n");
        await wire.ReadRepliesAsync(9);
        Assert.True(await wire.ClosedByServerAsync());
        const string expected = "ehlo=1 mail=1 rcpt=1 data=1 rset=1 noop=1 quit=1 unknown=0/1 commands=7/8";
        Assert.Contains(expected, await mta.WaitForMaillogAsync(expected));
    }
}
