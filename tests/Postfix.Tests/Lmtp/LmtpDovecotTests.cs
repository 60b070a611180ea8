// lmtp(8) end to end with a real peer: client -> our smtpd -> queue -> our lmtp
// client -> Dovecot LMTP -> Maildir. Shows LHLO delivery into real mailboxes,
// Postfix's log lines, and RFC 2033 per-recipient replies (one accepted, one
// rejected recipient of the same message) turning into sent and bounced.
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Postfix.Tests.Relay;
using Xunit;

namespace Postfix.Tests.Lmtp;

public sealed class LmtpDovecotTests
{
    private const string Alice = "alice@lmtp.test";
    private const string Bob = "bob@lmtp.test";
    private const string Nobody = "nobody@lmtp.test";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    // Every recipient domain goes to Dovecot; "inet:host:port" is lmtp(8)'s destination syntax.
    private static Task<MtaInstance> StartMtaAsync(Dovecot dovecot) => MtaInstance.StartAsync($"""
        defer_transports = local
        default_transport = lmtp:inet:127.0.0.1:{dovecot.Port}
        """);

    [Fact]
    public async Task LmtpDeliveryIntoDovecotMaildir()
    {
        await using var dovecot = await Dovecot.StartAsync(Alice, Bob);
        await using var mta = await StartMtaAsync(dovecot);
        var ids = new Dictionary<string, string[]>();
        await using (var c = await ConnectAsync(mta))
        {
            ids[await SendAsync(c, "sender@client.test", [Alice], "Subject: lmtp one\r\n\r\nfirst\r\n")] = [Alice];
            ids[await SendAsync(c, "sender@client.test", [Bob], "Subject: lmtp two\r\n\r\nsecond\r\n")] = [Bob];
            ids[await SendAsync(c, "sender@client.test", [Alice, Bob], "Subject: lmtp three\r\n\r\nthird\r\n")] = [Alice, Bob];
        }
        await RelayTests.WaitForEmptyQueueAsync(mta, Bound);

        var log = mta.Maillog;
        foreach (var (id, rcpts) in ids)
            foreach (var rcpt in rcpts)
                Assert.Matches(SentLine(id, rcpt, dovecot.Port), log);
        Assert.Equal(4, Regex.Matches(log, @"postfix/lmtp\[\d+\]: [0-9A-F]{12}: to=<[^>]+>, .*status=sent").Count);

        var aliceMail = await WaitForMaildirAsync(dovecot, Alice, 2);
        var bobMail = await WaitForMaildirAsync(dovecot, Bob, 2);
        AssertMailbox(aliceMail, ["Subject: lmtp one", "Subject: lmtp three"], ids.Keys);
        AssertMailbox(bobMail, ["Subject: lmtp two", "Subject: lmtp three"], ids.Keys);
    }

    [Fact]
    public async Task LmtpUnknownUserBounces()
    {
        await using var dovecot = await Dovecot.StartAsync(Alice);
        await using var mta = await StartMtaAsync(dovecot);
        string id;
        await using (var c = await ConnectAsync(mta))
            // A local sender (mydestination): the notice stays queued where nothing delivers it.
            id = await SendAsync(c, "carol@mx.test.example", [Nobody], "Subject: to nobody\r\n\r\nbody\r\n");

        await RelayTests.WaitForLogAsync(mta, "sender non-delivery notification", 60);
        // qmgr logs the removal after bounce(8) has queued the notice: wait for it too.
        var log = await RelayTests.WaitForLogAsync(mta, $"{id}: removed", 60);
        Assert.Matches(BouncedLine(id, Nobody, dovecot.Port), log);
        Assert.Matches($@"postfix/bounce\[\d+\]: {id}: sender non-delivery notification: [0-9A-F]{{12}}", log);
        Assert.Matches($@"postfix/qmgr\[\d+\]: {id}: removed", log);
        Assert.DoesNotMatch(@"status=sent", log);
        Assert.False(Directory.Exists(Path.Combine(dovecot.MailRoot, Nobody)));
    }

    [Fact]
    public async Task LmtpPerRecipientReplies()
    {
        await using var dovecot = await Dovecot.StartAsync(Alice);
        await using var mta = await StartMtaAsync(dovecot);
        string id;
        await using (var c = await ConnectAsync(mta))
            id = await SendAsync(c, "carol@mx.test.example", [Alice, Nobody], "Subject: half and half\r\n\r\nbody\r\n");

        await RelayTests.WaitForLogAsync(mta, "sender non-delivery notification", 60);
        // qmgr logs the removal after bounce(8) has queued the notice: wait for it too.
        var log = await RelayTests.WaitForLogAsync(mta, $"{id}: removed", 60);
        Assert.Matches(SentLine(id, Alice, dovecot.Port), log);
        Assert.Matches(BouncedLine(id, Nobody, dovecot.Port), log);
        Assert.Matches($@"postfix/bounce\[\d+\]: {id}: sender non-delivery notification: [0-9A-F]{{12}}", log);
        Assert.Single(Regex.Matches(log, $@"{id}: to=<{Regex.Escape(Alice)}>"));
        Assert.Single(Regex.Matches(log, $@"{id}: to=<{Regex.Escape(Nobody)}>"));

        var mail = await WaitForMaildirAsync(dovecot, Alice, 1);
        AssertMailbox(mail, ["Subject: half and half"], [id]);
    }

    private static Regex SentLine(string id, string rcpt, int port) => new(
        $@"postfix/lmtp\[\d+\]: {id}: to=<{Regex.Escape(rcpt)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:{port}, delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 <{Regex.Escape(rcpt)}> [^)]*Saved\)");

    private static Regex BouncedLine(string id, string rcpt, int port) => new(
        $@"postfix/lmtp\[\d+\]: {id}: to=<{Regex.Escape(rcpt)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:{port}, .*dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <{Regex.Escape(rcpt)}> User doesn't exist");

    /// <summary>Each message carries our Received: header (with one of <paramref name="queueIds"/>) and the subjects, in any order.</summary>
    private static void AssertMailbox(string[] contents, string[] subjects, IEnumerable<string> queueIds)
    {
        Assert.Equal(subjects.Length, contents.Length);
        var ours = new Regex($@"^Received: from client\.test \([^)\r\n]*\[127\.0\.0\.1\]\)\r?\n\tby mx\.test\.example \(Postfix\) with E?SMTP id ({string.Join('|', queueIds)})\b",
            RegexOptions.Multiline);
        foreach (var m in contents) Assert.Matches(ours, m);
        Assert.Equal(subjects.Order(), contents.Select(m => Regex.Match(m, @"^Subject: .*?(?=\r?$)", RegexOptions.Multiline).Value).Order());
    }

    private static async Task<string[]> WaitForMaildirAsync(Dovecot dovecot, string user, int count)
    {
        await Repo.WaitUntilAsync(() => dovecot.MaildirMessages(user).Length >= count, TimeSpan.FromSeconds(10));
        var files = dovecot.MaildirMessages(user);
        Assert.True(files.Length == count, $"{user}: {files.Length} messages in the Maildir, expected {count}; dovecot log:\n{dovecot.Log}");
        return files.Select(File.ReadAllText).ToArray();
    }

    private static async Task<SmtpTestClient> ConnectAsync(MtaInstance mta)
    {
        var c = await SmtpTestClient.ConnectAsync(mta.Port);
        Assert.StartsWith("220", await c.ReadReplyAsync());
        await c.SendAsync("EHLO client.test\r\n");
        Assert.StartsWith("250", await c.ReadReplyAsync());
        return c;
    }

    /// <summary>One message to several recipients (MAIL, RCPT..., DATA pipelined); returns the queue ID.</summary>
    private static async Task<string> SendAsync(SmtpTestClient c, string from, string[] rcpts, string content)
    {
        await c.SendAsync($"MAIL FROM:<{from}>\r\n" + string.Concat(rcpts.Select(r => $"RCPT TO:<{r}>\r\n")) + "DATA\r\n");
        Assert.StartsWith("250", await c.ReadReplyAsync());
        foreach (var r in rcpts) Assert.StartsWith("250", await c.ReadReplyAsync());
        Assert.StartsWith("354", await c.ReadReplyAsync());
        await c.SendAsync(SmtpTestClient.DotStuff(content) + ".\r\n");
        var done = await c.ReadReplyAsync();
        const string marker = "250 2.0.0 Ok: queued as ";
        Assert.StartsWith(marker, done);
        return done[marker.Length..].Trim();
    }
}
