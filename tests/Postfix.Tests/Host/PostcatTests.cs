// postcat(1) -q against a real MTA through the running master: the envelope,
// header and body sections in Postfix's layout, -e / -h / -b selecting them,
// and Postfix's exit 1 for a queue ID that is not there.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Host;

public sealed class PostcatTests
{
    [Fact]
    public async Task ShowsEnvelopeHeaderAndBodyInPostfixLayout()
    {
        await using var mta = await MtaInstance.StartAsync();
        string id;
        await using (var c = await SmtpTestClient.ConnectAsync(mta.Port))
        {
            await c.ReadReplyAsync();
            await c.SendAsync("EHLO cat.test\r\n");
            await c.ReadReplyAsync();
            await c.SendAsync("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\nDATA\r\n");
            for (int i = 0; i < 4; i++) await c.ReadReplyAsync();
            await c.SendAsync("Subject: quarterly report\r\nX-Long: first\r\n\tcontinued\r\n\r\nbody line one\r\n..leading dot\r\n.\r\n");
            var done = await c.ReadReplyAsync();
            Assert.StartsWith("250 2.0.0 Ok: queued as ", done);
            id = done["250 2.0.0 Ok: queued as ".Length..].Trim();
        }
        await PostsuperTests.WaitAllDeferredAsync(mta, 1);

        var all = await mta.PostfixAsync("postcat", "-q", id);
        Assert.True(all.ExitCode == 0, all.Stderr);
        var lines = all.Stdout.Split('\n');
        Assert.Equal($"*** ENVELOPE RECORDS deferred/{id} ***", lines[0]);
        Assert.Matches(@"^message_size: \d+$", lines[1]);
        Assert.StartsWith("message_arrival_time: ", lines[2]);
        Assert.Contains("sender: alice@example.org", lines);
        Assert.Contains("recipient: bob@example.net", lines);
        Assert.Contains("recipient: carol@example.net", lines);
        Assert.Contains("original_recipient: bob@example.net", lines);
        Assert.Contains("named_attribute: helo_name=cat.test", lines);
        int contents = Array.IndexOf(lines, $"*** MESSAGE CONTENTS deferred/{id} ***");
        int extracted = Array.IndexOf(lines, $"*** HEADER EXTRACTED deferred/{id} ***");
        Assert.True(contents > 0 && extracted > contents, all.Stdout);
        Assert.Contains("Subject: quarterly report", lines[contents..extracted]);
        Assert.Contains(".leading dot", lines[contents..extracted]); // unstuffed, LF line ends
        Assert.DoesNotContain("\r", all.Stdout);
        Assert.Equal($"*** MESSAGE FILE END deferred/{id} ***", lines[extracted + 1]);

        var header = await mta.PostfixAsync("postcat", "-h", "-q", id);
        Assert.Equal(0, header.ExitCode);
        Assert.Contains("Subject: quarterly report\n", header.Stdout);
        Assert.Contains("X-Long: first\n\tcontinued\n", header.Stdout);
        Assert.DoesNotContain("body line one", header.Stdout);
        Assert.DoesNotContain("***", header.Stdout);

        var body = await mta.PostfixAsync("postcat", "-bq", id);
        Assert.Equal(0, body.ExitCode);
        Assert.Equal("\nbody line one\n.leading dot\n", body.Stdout);

        var env = await mta.PostfixAsync("postcat", "-e", "-q", id);
        Assert.Equal(0, env.ExitCode);
        Assert.Contains("sender: alice@example.org", env.Stdout);
        Assert.Contains($"*** MESSAGE FILE END deferred/{id} ***", env.Stdout);
        Assert.DoesNotContain("Subject:", env.Stdout);
    }

    [Fact]
    public async Task UnknownOrBadQueueIdExits1()
    {
        await using var mta = await MtaInstance.StartAsync();
        var missing = await mta.PostfixAsync("postcat", "-q", "0123456789AB");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("postcat: fatal: open queue file 0123456789AB: No such file or directory", missing.Stderr);
        Assert.Equal("", missing.Stdout);
        var bad = await mta.PostfixAsync("postcat", "-q", "nope");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("postcat: fatal: bad mail queue ID: nope", bad.Stderr);
        Assert.Equal(2, (await mta.PostfixAsync("postcat", "-z", "-q", "0123456789AB")).ExitCode);
        Assert.Equal(2, (await mta.PostfixAsync("postcat", "0123456789AB")).ExitCode);
    }
}
