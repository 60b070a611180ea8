// sendmail(1) -> maildrop -> pickup(8) -> cleanup -> queue -> smtp, driven as
// an operator or a cron job would: ./postfix sendmail as a process, with the
// mail system stopped and running, into a real smtp-sink as the next hop.
using System.Text.RegularExpressions;
using Xunit;
using Postfix.Tests.Infrastructure;
using Postfix.Tests.Relay;

namespace Postfix.Tests.Pickup;

public class SendmailPickupTests
{
    private static string Relay(SmtpSink sink) => $"""
        defer_transports =
        relayhost = [127.0.0.1]:{sink.Port}
        """;

    private static string Maildrop(MtaInstance mta) => Path.Combine(mta.QueueDir, "maildrop");

    private static async Task<string> WaitForDumpAsync(SmtpSink sink, int transactions)
    {
        Assert.True(await Repo.WaitUntilAsync(() => sink.Transactions >= transactions, TimeSpan.FromSeconds(60)),
            $"sink saw {sink.Transactions} of {transactions} transactions");
        return File.ReadAllText(sink.DumpFile);
    }

    [Fact]
    public async Task SendmailTWithTheDaemonStoppedIsDeliveredOnceItStarts()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = MtaInstance.Prepare(Relay(sink));
        var r = await mta.SendmailAsync("""
            From: Cron Daemon <cron@example.org>
            To: Bob <bob@example.net>, carol@example.org
            Cc: dave@example.com
            Bcc: secret@example.com
            Subject: nightly report

            all good
            """, "-t");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Single(Directory.GetFiles(Maildrop(mta))); // waits in the maildrop while the MTA is down

        await mta.StartProcessAsync();
        var dump = await WaitForDumpAsync(sink, 1);
        await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromSeconds(60));
        Assert.Equal(["bob@example.net", "carol@example.org", "dave@example.com", "secret@example.com"], sink.RcptArgs.Order());
        Assert.DoesNotContain("Bcc:", dump);
        Assert.DoesNotContain("secret@example.com", dump[dump.IndexOf("Received:", StringComparison.Ordinal)..]); // envelope only, not in the content
        Assert.Contains("Subject: nightly report", dump);
        Assert.Matches(@"Received: by mx\.test\.example \(Postfix, from userid \d+\)", dump);
        Assert.Matches(@"Message-Id: <[^>]+@mx\.test\.example>", dump);
        Assert.Empty(Directory.GetFiles(Maildrop(mta)));
        Assert.Matches(@"postfix/pickup\[\d+\]: [0-9A-F]{12}: uid=\d+ from=<", mta.Maillog);
        Assert.Equal(1, sink.Transactions);
    }

    [Fact]
    public async Task SendmailWhileRunningHonoursSenderRecipientsAndDots()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await MtaInstance.StartAsync(Relay(sink) + "\nmyorigin = example.org");
        // Without -i a lone dot ends the message; bare user names get @$myorigin.
        var r1 = await mta.SendmailAsync("Subject: one\n\nbefore\n.\nafter-the-dot\n", "-f", "alice", "bob@example.net");
        Assert.True(r1.ExitCode == 0, r1.Stderr);
        var dump = await WaitForDumpAsync(sink, 1);
        Assert.Contains("X-Mail-Args: <alice@example.org>", dump);
        Assert.Contains("before", dump);
        Assert.DoesNotContain("after-the-dot", dump);

        // With -oi the dot is content (and leaves as ".." on the SMTP wire: the sink unstuffs it).
        var r2 = await mta.SendmailAsync("Subject: two\n\nline\n.\nkept-after-dot\n", "-oi", "-fmailer@example.org", "--", "carol@example.net, dave@example.net");
        Assert.True(r2.ExitCode == 0, r2.Stderr);
        dump = await WaitForDumpAsync(sink, 2);
        Assert.Contains("kept-after-dot", dump);
        Assert.Contains("carol@example.net", sink.RcptArgs);
        Assert.Contains("dave@example.net", sink.RcptArgs);
        await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task ManySendmailRunsAreEachDeliveredExactlyOnce()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await MtaInstance.StartAsync(Relay(sink));
        const int n = 40;
        using var gate = new SemaphoreSlim(4);
        var runs = Enumerable.Range(0, n).Select(async i =>
        {
            await gate.WaitAsync();
            try { return await mta.SendmailAsync($"Subject: msg {i}\nMessage-Id: <m{i}@test>\n\nbody {i}\n", "-f", "a@example.org", $"r{i}@example.net"); }
            finally { gate.Release(); }
        }).ToList();
        foreach (var r in await Task.WhenAll(runs)) Assert.True(r.ExitCode == 0, r.Stderr);
        await WaitForDumpAsync(sink, n);
        await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromSeconds(60));
        Assert.Equal(n, sink.Transactions);
        Assert.Equal(n, sink.MessageIds.Count);
        Assert.Equal(n, Regex.Matches(mta.Maillog, @"postfix/pickup\[\d+\]: [0-9A-F]{12}: uid=").Count);
    }

    [Fact]
    public async Task CorruptMaildropFileIsSetAsideAndPickupKeepsGoing()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await MtaInstance.StartAsync(Relay(sink));
        Directory.CreateDirectory(Maildrop(mta));
        File.WriteAllText(Path.Combine(Maildrop(mta), "0000BAD.1.1"), "PFMD1\nF a\nR 0\nM\ngarbage");
        File.WriteAllBytes(Path.Combine(Maildrop(mta), "0000BAD.1.2"), [0xFF, 0x00, 0x13]);
        var r = await mta.SendmailAsync("Subject: good\n\nfine\n", "good@example.net");
        Assert.True(r.ExitCode == 0, r.Stderr);
        await WaitForDumpAsync(sink, 1);
        Assert.True(await Repo.WaitUntilAsync(() => Directory.GetFiles(Maildrop(mta)).Length == 0, TimeSpan.FromSeconds(30)));
        var corrupt = Directory.GetFiles(Path.Combine(mta.QueueDir, "corrupt")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["0000BAD.1.1", "0000BAD.1.2"], corrupt);
        Assert.Matches(@"postfix/pickup\[\d+\]: warning: maildrop/0000BAD\.1\.1: malformed recipient record: file moved to corrupt/0000BAD\.1\.1", mta.Maillog);
        Assert.Matches(@"postfix/pickup\[\d+\]: warning: maildrop/0000BAD\.1\.2: not a maildrop file \(bad magic\): file moved to corrupt/0000BAD\.1\.2", mta.Maillog);
        Assert.Equal(1, sink.Transactions);
    }

    [Theory]
    [InlineData("Subject: x\n\nbody\n", new string[0], 64, "Recipient addresses must be specified on the command line or via the -t option")]
    [InlineData("Subject: no recipients here\n\nbody\n", new[] { "-t" }, 64, "No recipient addresses found in message header")]
    [InlineData("x\n", new[] { "-Z", "a@b" }, 64, "invalid option -- 'Z'")]
    [InlineData("x\n", new[] { "-N", "sometimes", "a@b" }, 64, "-N sometimes")]
    [InlineData("x\n", new[] { "-R", "all", "a@b" }, 64, "-R all")]
    [InlineData("x\n", new[] { "-f" }, 64, "option requires an argument -- 'f'")]
    [InlineData("x\n", new[] { "-bd" }, 64, "unsupported mode -bd")]
    public async Task BadInvocationsExitWithSysexitsAndQueueNothing(string stdin, string[] args, int exit, string message)
    {
        var mta = MtaInstance.Prepare();
        await using (mta)
        {
            var r = await mta.SendmailAsync(stdin, args);
            Assert.Equal(exit, r.ExitCode);
            Assert.Contains("sendmail: fatal: ", r.Stderr);
            Assert.Contains(message, r.Stderr);
            Assert.False(Directory.Exists(Maildrop(mta)) && Directory.GetFiles(Maildrop(mta)).Length > 0);
        }
    }

    [Fact]
    public async Task OversizeMessageIsRefusedWithDataError()
    {
        await using var mta = MtaInstance.Prepare("message_size_limit = 2000");
        var r = await mta.SendmailAsync("Subject: big\n\n" + string.Concat(Enumerable.Repeat(new string('x', 70) + "\n", 100)), "a@example.net");
        Assert.Equal(65, r.ExitCode);
        Assert.Contains("message file too big", r.Stderr);
        Assert.False(Directory.Exists(Maildrop(mta)) && Directory.GetFiles(Maildrop(mta)).Length > 0);
    }

    [Fact]
    public async Task BsSpeaksSmtpOnStdioAndItsMailIsDelivered()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await MtaInstance.StartAsync(Relay(sink));
        var session = "EHLO client\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@elsewhere.example>\r\n"
            + "DATA\r\nSubject: via -bs\r\n\r\nhello\r\n..leading dot\r\n.\r\nMAIL FROM:<x@y>\r\nRCPT TO:<bad address>\r\nQUIT\r\n";
        var r = await mta.SendmailAsync(session, "-bs");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Split("\r\n");
        Assert.StartsWith("220 ", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("250 2.0.0 Ok: queued as "));
        Assert.Contains(lines, l => l.StartsWith("501 5.1.3 "));   // hostile input still gets smtpd's replies
        Assert.Contains("221 2.0.0 Bye", r.Stdout);
        var dump = await WaitForDumpAsync(sink, 1);
        Assert.Equal(["b@example.net", "c@elsewhere.example"], sink.RcptArgs.Order()); // local user may relay
        Assert.Contains(".leading dot", dump);
        await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task BvShowsHowEachRecipientResolves()
    {
        await using var mta = MtaInstance.Prepare("relayhost = [127.0.0.1]:2599\nmydestination = $myhostname, localhost");
        var r = await mta.SendmailAsync("", "-bv", "someone@example.net", "root");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("someone@example.net: default address, delivered via smtp:[127.0.0.1]:2599", r.Stdout);
        Assert.Contains("root@mx.test.example: local address, delivered via local:", r.Stdout);
    }
}
