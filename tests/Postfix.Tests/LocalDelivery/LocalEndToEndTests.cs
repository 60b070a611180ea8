// local(8) in a running MTA: mail for mydestination submitted by SMTP
// (MailKit) and by sendmail(1) is delivered by our local agent to the temp
// passwd users' spool mboxes and home Maildirs, through aliases (texthash)
// with a remote member forwarded as a new queue file, and logged as Postfix
// local does: "to=<...>, [orig_to=<...>,] relay=local, ... status=sent
// (delivered to mailbox)" / "(forwarded as ID)" / bounced unknown users.
using System.Text.RegularExpressions;
using MailKit.Net.Smtp;
using MimeKit;
using Postfix.Core.Util;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.LocalDelivery;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalEndToEndTests
{
    private const string Domain = "mx.test.example"; // the fixture's myhostname, in mydestination
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    // The fixture defers local(8) by default; here it delivers (remote mail stays deferred).
    private static string LocalConfig(LocalTestBed bed, string extra = "") => $"""
        defer_transports = smtp, relay
        alias_maps = texthash:{bed.AliasesPath}
        local_passwd_file = {bed.PasswdPath}
        mail_spool_directory = {bed.Spool}
        {extra}
        """;

    private static async Task<string> SubmitAsync(MtaInstance mta, string from, string[] to, string subject, string body)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        foreach (var t in to) message.To.Add(MailboxAddress.Parse(t));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = body };
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", mta.Port, MailKit.Security.SecureSocketOptions.None);
        string reply = await client.SendAsync(message);
        await client.DisconnectAsync(true);
        var m = Regex.Match(reply, "queued as ([0-9A-F]{12})");
        Assert.True(m.Success, reply);
        return m.Groups[1].Value;
    }

    private static Regex LocalLine(string id, string to, string status, string text, string? origTo = null) => new(
        $@"postfix/local\[\d+\]: {id}: to=<{Regex.Escape(to)}>, {(origTo is null ? "" : $"orig_to=<{Regex.Escape(origTo)}>, ")}"
        + $@"relay=local, delay=[\d.]+, delays=[\d./]+, dsn=\d\.\d\.\d, status={status} \({text}\)");

    private static async Task<string> WaitForLogAsync(MtaInstance mta, Regex line)
    {
        await Repo.WaitUntilAsync(() => line.IsMatch(mta.Maillog), Bound, 100);
        var log = mta.Maillog;
        Assert.True(line.IsMatch(log), $"maillog lacks {line}:\n{log}");
        return log;
    }

    [Fact]
    public async Task SmtpAndSendmailMailIsDeliveredToSpoolMailboxesThroughAliases()
    {
        using var bed = new LocalTestBed();
        bed.Aliases("staff alice, bob, friend@example.net", "postmaster alice");
        await using var mta = await MtaInstance.StartAsync(LocalConfig(bed));

        var direct = await SubmitAsync(mta, "sender@client.test", [$"alice@{Domain}"], "direct", "one");
        var toStaff = await SubmitAsync(mta, "sender@client.test", [$"staff@{Domain}"], "to staff", "two");
        var sm = await mta.SendmailAsync("Subject: from sendmail\n\nthree\nFrom the shell\n", "-f", "cron@example.org", "bob");
        Assert.True(sm.ExitCode == 0, sm.Stderr);

        await WaitForLogAsync(mta, LocalLine(direct, $"alice@{Domain}", "sent", "delivered to mailbox"));
        await WaitForLogAsync(mta, LocalLine(toStaff, $"alice@{Domain}", "sent", "delivered to mailbox", $"staff@{Domain}"));
        await WaitForLogAsync(mta, LocalLine(toStaff, $"bob@{Domain}", "sent", "delivered to mailbox", $"staff@{Domain}"));
        var log = await WaitForLogAsync(mta, LocalLine(toStaff, $"staff@{Domain}", "sent", @"forwarded as [0-9A-F]{12}"));
        string fwd = Regex.Match(log, $@"{toStaff}: to=<staff@{Regex.Escape(Domain)}>, .*forwarded as ([0-9A-F]{{12}})").Groups[1].Value;
        // The forwarded copy is a queue file of its own, for the remote member only.
        Assert.Matches($@"postfix/cleanup\[\d+\]: {fwd}: message-id=", log);
        Assert.Matches($@"postfix/qmgr\[\d+\]: {fwd}: from=<sender@client\.test>, size=\d+, nrcpt=1 \(queue active\)", log);
        log = await WaitForLogAsync(mta, new Regex($@"postfix/local\[\d+\]: [0-9A-F]{{12}}: to=<bob@{Regex.Escape(Domain)}>, relay=local, .*dsn=2\.0\.0, status=sent \(delivered to mailbox\)"));
        await Repo.WaitUntilAsync(() => Regex.Matches(mta.Maillog, $@"to=<bob@{Regex.Escape(Domain)}>.*status=sent").Count >= 2, Bound, 100);

        var alice = bed.MailboxText("alice");
        var bob = bed.MailboxText("bob");
        Assert.Equal(2, Regex.Matches(alice, "^From sender@client\\.test  ", RegexOptions.Multiline).Count);
        Assert.Contains($"\nX-Original-To: staff@{Domain}\nDelivered-To: staff@{Domain}\n", alice);
        Assert.Contains($"\nReturn-Path: <cron@example.org>\nX-Original-To: bob@{Domain}\nDelivered-To: bob@{Domain}\n", bob);
        Assert.Contains("\n>From the shell\n", bob);
        Assert.Matches(@"\nReceived: by mx\.test\.example \(Postfix, from userid \d+\)\n", bob);
        if (UnixFile.IsRoot)
        {
            Assert.Equal(0, UnixFile.LStat(Path.Combine(bed.Spool, "alice"), out var st));
            Assert.Equal((uint)bed.User("alice").Uid, st.Uid);
        }
    }

    [Fact]
    public async Task HomeMaildirUnknownUserAndDotForwardCommand()
    {
        using var bed = new LocalTestBed();
        var outFile = Path.Combine(bed.Home("carol"), "piped.txt");
        bed.WriteUserFile("carol", ".forward", $"carol, \"|/bin/cat > {outFile}\"\n");
        await using var mta = await MtaInstance.StartAsync(LocalConfig(bed, "home_mailbox = Maildir/"));

        var id = await SubmitAsync(mta, "sender@client.test", [$"carol@{Domain}", $"nosuch@{Domain}"], "maildir", "four");
        await WaitForLogAsync(mta, LocalLine(id, $"carol@{Domain}", "sent", "delivered to maildir"));
        await WaitForLogAsync(mta, LocalLine(id, $"carol@{Domain}", "sent", Regex.Escape($"delivered to command: /bin/cat > {outFile}")));
        await WaitForLogAsync(mta, LocalLine(id, $"nosuch@{Domain}", "bounced", "User unknown in local recipient table"));

        var file = Assert.Single(Directory.GetFiles(Path.Combine(bed.Home("carol"), "Maildir", "new")));
        Assert.Matches(@",S=\d+,W=\d+$", file);
        var text = File.ReadAllText(file);
        Assert.StartsWith($"Return-Path: <sender@client.test>\nX-Original-To: carol@{Domain}\nDelivered-To: carol@{Domain}\nReceived: from ", text);
        Assert.Contains("Subject: maildir", text);
        Assert.StartsWith("From sender@client.test  ", File.ReadAllText(outFile));
        if (UnixFile.IsRoot)
        {
            Assert.Equal(0, UnixFile.LStat(outFile, out var st));
            Assert.Equal((uint)bed.User("carol").Uid, st.Uid); // the command ran as carol
        }
    }

    [Fact]
    public async Task CheckAndStartRefuseAMissingAliasTable()
    {
        await using var mta = MtaInstance.Prepare("alias_maps = texthash:/nonexistent/aliases");
        var r = await mta.PostfixAsync("check");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("alias_maps", r.Stderr);
        Assert.Contains("/nonexistent/aliases", r.Stderr);
    }
}
