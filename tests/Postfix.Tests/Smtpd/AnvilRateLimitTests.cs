// anvil(8)-style client limits against a real MTA: connection rate, message
// rate (MAIL FROM) and recipient rate (RCPT TO) per client within
// anvil_rate_time_unit, Postfix's replies and log lines, and the exemption
// list (smtpd_client_event_limit_exceptions, default $mynetworks).
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Smtpd;

public class AnvilRateLimitTests
{
    // Loopback is in $mynetworks, which is exempt by default: these tests clear the exemption list.
    private const string NoExemptions = "smtpd_client_event_limit_exceptions =\nanvil_rate_time_unit = 3600s\n";

    [Fact]
    public async Task ConnectionRateLimitAnswers421AfterTheLimit()
    {
        await using var mta = await MtaInstance.StartAsync(NoExemptions + "smtpd_client_connection_rate_limit = 3");
        // MtaInstance's readiness probe connected once already; count what follows.
        var greetings = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
            greetings.Add(await c.ReadReplyAsync());
        }
        Assert.Contains(greetings, g => g.StartsWith("220 "));
        var refused = greetings.Where(g => g.StartsWith("421 4.7.0 mx.test.example Error: too many connections from 127.0.0.1")).Count();
        Assert.True(refused >= 2, string.Join("\n", greetings));
        Assert.True(await Repo.WaitUntilAsync(() => Regex.IsMatch(mta.Maillog,
            @"warning: Connection rate limit exceeded: \d+ from unknown\[127\.0\.0\.1\] for service smtp"), TimeSpan.FromSeconds(10)), mta.Maillog);
    }

    [Fact]
    public async Task MessageRateLimitAnswers450AtMailFrom()
    {
        await using var mta = await MtaInstance.StartAsync(NoExemptions + "smtpd_client_message_rate_limit = 2");
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO test\r\n");
        await c.ReadReplyAsync();
        var replies = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            await c.SendAsync("MAIL FROM:<a@example.org>\r\n");
            replies.Add(await c.ReadReplyAsync());
            await c.SendAsync("RSET\r\n");
            await c.ReadReplyAsync();
        }
        Assert.StartsWith("250 ", replies[0]);
        Assert.StartsWith("250 ", replies[1]);
        Assert.Equal("450 4.7.1 Error: too much mail from 127.0.0.1", replies[2].TrimEnd());
        Assert.Equal("450 4.7.1 Error: too much mail from 127.0.0.1", replies[3].TrimEnd());
        Assert.True(await Repo.WaitUntilAsync(() => Regex.IsMatch(mta.Maillog,
            @"warning: Message delivery request rate limit exceeded: 3 from unknown\[127\.0\.0\.1\] for service smtp"), TimeSpan.FromSeconds(10)), mta.Maillog);
    }

    [Fact]
    public async Task RecipientRateLimitAnswers450AtRcptAndTheMessageStillGoesToTheOthers()
    {
        await using var mta = await MtaInstance.StartAsync(NoExemptions + "smtpd_client_recipient_rate_limit = 3");
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO test\r\nMAIL FROM:<a@example.org>\r\n");
        await c.ReadReplyAsync();
        await c.ReadReplyAsync();
        var replies = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            await c.SendAsync($"RCPT TO:<r{i}@mx.test.example>\r\n");
            replies.Add((await c.ReadReplyAsync()).TrimEnd());
        }
        Assert.Equal(3, replies.Count(r => r.StartsWith("250 ")));
        Assert.Equal(2, replies.Count(r => r == "450 4.7.1 Error: too many recipients from 127.0.0.1"));
        await c.SendAsync("DATA\r\n");
        Assert.StartsWith("354 ", await c.ReadReplyAsync());
        await c.SendAsync("Subject: x\r\n\r\nhi\r\n.\r\n");
        Assert.StartsWith("250 ", await c.ReadReplyAsync());
        Assert.True(await Repo.WaitUntilAsync(() => Regex.IsMatch(mta.Maillog, @"nrcpt=3 \(queue active\)"), TimeSpan.FromSeconds(10)), mta.Maillog);
    }

    [Fact]
    public async Task MyNetworksIsExemptByDefault()
    {
        await using var mta = await MtaInstance.StartAsync("smtpd_client_message_rate_limit = 1\nsmtpd_client_connection_rate_limit = 1");
        for (int i = 0; i < 3; i++)
        {
            await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
            Assert.StartsWith("220 ", await c.ReadReplyAsync());
            await c.SendAsync("MAIL FROM:<a@example.org>\r\n");
            Assert.StartsWith("250 ", await c.ReadReplyAsync());
        }
        Assert.DoesNotContain("rate limit exceeded", mta.Maillog);
    }
}
