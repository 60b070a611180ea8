// smtpd(8) with message_size_limit = 100000: the limit is advertised, checked
// against SIZE= at MAIL, and enforced while DATA / BDAT content streams in;
// the rejection comes after the final dot and nothing reaches the queue.
using System.Text;
using Xunit;

namespace Postfix.Tests.Smtpd;

public sealed class SmtpdSizeLimitTests(SmtpdSizeLimitTests.Fixture mta) : IClassFixture<SmtpdSizeLimitTests.Fixture>
{
    public sealed class Fixture : MtaFixture
    {
        protected override string MainCfExtra => """
            message_size_limit = 100000
            smtpd_error_sleep_time = 0
            """;
    }

    private async Task<SmtpWire> OpenTransactionAsync()
    {
        var wire = await SmtpWire.OpenAsync(mta.Port);
        Assert.Equal(250, (await wire.CommandAsync("EHLO client.example")).Code);
        Assert.Equal(250, (await wire.CommandAsync("MAIL FROM:<sender@client.example>")).Code);
        Assert.Equal(250, (await wire.CommandAsync("RCPT TO:<rcpt@localhost>")).Code);
        return wire;
    }

    private static string Body(int bytes)
    {
        var line = new string('x', 98) + "\r\n";
        var sb = new StringBuilder("Subject: big\r\n\r\n");
        while (sb.Length < bytes) sb.Append(line);
        return sb.ToString();
    }

    [Fact]
    public async Task EhloAdvertisesTheConfiguredSize()
    {
        using var wire = await SmtpWire.OpenAsync(mta.Port);
        var ehlo = await wire.CommandAsync("EHLO client.example");
        Assert.Contains("250-SIZE 100000", ehlo.Lines);
    }

    [Fact]
    public async Task DataOverTheLimitIsRejectedAfterTheFinalDotAndNotQueued()
    {
        int before = await mta.Mta.QueueCountAsync();
        using var wire = await OpenTransactionAsync();
        Assert.Equal(354, (await wire.CommandAsync("DATA")).Code);
        await wire.SendAsync(Body(200_000));
        await wire.SendAsync(".\r\n");
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit", (await wire.ReadReplyAsync()).Last);
        Assert.Equal(before, await mta.Mta.QueueCountAsync());
        // The transaction is gone but the session is not.
        Assert.Equal(250, (await wire.CommandAsync("NOOP")).Code);
        Assert.StartsWith("503 ", (await wire.CommandAsync("RCPT TO:<rcpt@localhost>")).Last);
    }

    [Fact]
    public async Task DataUnderTheLimitIsQueued()
    {
        int before = await mta.Mta.QueueCountAsync();
        using var wire = await OpenTransactionAsync();
        Assert.Equal(354, (await wire.CommandAsync("DATA")).Code);
        await wire.SendAsync(Body(50_000) + ".\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", (await wire.ReadReplyAsync()).Last);
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());
    }

    [Fact]
    public async Task BdatOverTheLimitIsRejectedAndNotQueued()
    {
        int before = await mta.Mta.QueueCountAsync();
        using var wire = await OpenTransactionAsync();
        var body = Body(200_000);
        await wire.SendAsync($"BDAT {body.Length} LAST\r\n{body}");
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit", (await wire.ReadReplyAsync()).Last);
        Assert.Equal(before, await mta.Mta.QueueCountAsync());
        Assert.Equal(250, (await wire.CommandAsync("NOOP")).Code);
    }
}
