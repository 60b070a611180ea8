// The address maps end to end, the way an operator meets them: a real MTA
// with virtual_alias_maps / sender_bcc_maps / canonical_maps in main.cf,
// mail submitted over SMTP (swaks) and through sendmail, delivered to a real
// smtp-sink. Shows trap 1 fixed (locally submitted mail is rewritten exactly
// like SMTP mail, no setting needed) and trap 2 (one copy per final recipient).
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Postfix.Tests.Relay;
using Xunit;

namespace Postfix.Tests.Cleanup;

public class CleanupMapsEndToEndTests
{
    private static async Task<MtaInstance> StartAsync(SmtpSink sink, string maps) => await MtaInstance.StartAsync($"""
        defer_transports =
        relayhost = [127.0.0.1]:{sink.Port}
        mydomain = example.com
        myorigin = $mydomain
        mydestination = localhost
        {maps}
        """);

    private static async Task<List<string>> RcptsAsync(SmtpSink sink, MtaInstance mta, int transactions)
    {
        Assert.True(await Repo.WaitUntilAsync(() => sink.Transactions >= transactions, TimeSpan.FromSeconds(60)), mta.Maillog);
        await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromSeconds(60));
        return sink.RcptArgs.Order().ToList();
    }

    private static Task<Repo.Result> Swaks(MtaInstance mta, string from, string to) =>
        Repo.RunAsync(Repo.Which("swaks"), ["--server", $"127.0.0.1:{mta.Port}", "--from", from, "--to", to, "--silent", "2"]);

    private const string Maps = """
        virtual_alias_maps = inline:{ {info@example.com = alice@corp.example, bob@partner.example}, {team@example.com = info@example.com, carol@corp.example}, {bob@partner.example = bob@partner.example, bob@archive.example} }
        sender_bcc_maps = inline:{ @example.com=archive@example.com }
        """;

    [Fact]
    public async Task VirtualAliasToExternalAddressesAndSenderBccOverSmtp()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartAsync(sink, Maps);
        var r = await Swaks(mta, "dave@example.com", "team@example.com");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var rcpts = await RcptsAsync(sink, mta, 1);
        Assert.Equal(["alice@corp.example", "archive@example.com", "bob@archive.example", "bob@partner.example", "carol@corp.example"], rcpts);
    }

    [Fact]
    public async Task SendmailGetsTheSameRewritingAsSmtpWithoutAnySetting()
    {
        // Trap 1: Postfix users expect locally generated mail to be rewritten like SMTP mail.
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartAsync(sink, Maps);
        var r = await mta.SendmailAsync("Subject: from cron\n\nhello\n", "-f", "dave", "info@example.com");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rcpts = await RcptsAsync(sink, mta, 1);
        // "dave" got @$myorigin = example.com, so sender_bcc_maps @example.com applies too.
        Assert.Equal(["alice@corp.example", "archive@example.com", "bob@archive.example", "bob@partner.example"], rcpts);
        Assert.Contains("X-Mail-Args: <dave@example.com>", File.ReadAllText(sink.DumpFile));
    }

    [Fact]
    public async Task OneCopyPerFinalRecipientWhateverTheExpansionPath()
    {
        // Trap 2: alice is a recipient, a member of team, and the target of an alias; one copy.
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartAsync(sink, """
            virtual_alias_maps = inline:{ {team@example.com = alice@corp.example, bob@corp.example}, {a@example.com = alice@corp.example} }
            recipient_bcc_maps = inline:{ bob@corp.example=alice@corp.example }
            """);
        var r = await Repo.RunAsync(Repo.Which("swaks"), ["--server", $"127.0.0.1:{mta.Port}", "--from", "x@example.org",
            "--to", "alice@corp.example,team@example.com,a@example.com,ALICE@corp.example", "--silent", "2"]);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var rcpts = await RcptsAsync(sink, mta, 1);
        Assert.Equal(["alice@corp.example", "bob@corp.example"], rcpts);
        Assert.Equal(1, sink.Transactions);
    }

    [Fact]
    public async Task SenderCanonicalThenCanonicalRewriteSenderAndRecipients()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartAsync(sink, """
            canonical_maps = inline:{ @legacy.example=@example.com }
            sender_canonical_maps = inline:{ dave@legacy.example=Dave.Jones@legacy.example }
            """);
        var r = await Swaks(mta, "dave@legacy.example", "erin@legacy.example");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Equal(["erin@example.com"], await RcptsAsync(sink, mta, 1));
        Assert.Contains("X-Mail-Args: <Dave.Jones@example.com>", File.ReadAllText(sink.DumpFile));
    }

    [Fact]
    public async Task UnknownUserInAVirtualAliasDomainBouncesWith511()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartAsync(sink, """
            virtual_alias_domains = alias.example
            virtual_alias_maps = inline:{ known@alias.example=known@corp.example }
            """);
        var r = await Repo.RunAsync(Repo.Which("swaks"), ["--server", $"127.0.0.1:{mta.Port}", "--from", "x@example.org",
            "--to", "known@alias.example,stranger@alias.example", "--silent", "2"]);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.True(await Repo.WaitUntilAsync(() => Regex.IsMatch(mta.Maillog,
            @"to=<stranger@alias\.example>, relay=none, .*dsn=5\.1\.1, status=bounced \(User unknown in virtual alias table\)"), TimeSpan.FromSeconds(30)), mta.Maillog);
        // The known alias went out; the bounce to x@example.org goes out through the relayhost as well.
        Assert.True(await Repo.WaitUntilAsync(() => sink.RcptArgs.Contains("known@corp.example"), TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task ReloadSwapsTheMaps()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartAsync(sink, "virtual_alias_maps = inline:{ info@example.com=first@corp.example }");
        Assert.True((await Swaks(mta, "x@example.org", "info@example.com")).ExitCode == 0);
        Assert.Equal(["first@corp.example"], await RcptsAsync(sink, mta, 1));
        var main = Path.Combine(mta.ConfigDir, "main.cf");
        File.WriteAllText(main, File.ReadAllText(main).Replace("first@corp.example", "second@corp.example"));
        Assert.Equal(0, (await mta.PostfixAsync("reload")).ExitCode);
        Assert.True(await Repo.WaitUntilAsync(() => mta.Maillog.Contains("reload --"), TimeSpan.FromSeconds(10)));
        Assert.True((await Swaks(mta, "x@example.org", "info@example.com")).ExitCode == 0);
        Assert.Equal(["first@corp.example", "second@corp.example"], await RcptsAsync(sink, mta, 2));
    }

    [Fact]
    public async Task HeadersOfLocalSubmissionsAreRewrittenRemoteOnesAreNot()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartAsync(sink, "canonical_maps = inline:{ @legacy.example=@example.com }");
        var r = await mta.SendmailAsync("From: Dave <dave@legacy.example>\nTo: erin@legacy.example, Bob <bob@legacy.example>\nSubject: local\n\nhi\n", "-t");
        Assert.True(r.ExitCode == 0, r.Stderr);
        await RcptsAsync(sink, mta, 1);
        var dump = File.ReadAllText(sink.DumpFile);
        Assert.Contains("From: Dave <dave@example.com>", dump);
        Assert.Contains("To: erin@example.com, Bob <bob@example.com>", dump);

        // A remote client (127.0.0.2 is not an inet_interfaces address): envelope rewritten, headers kept.
        await using (var c = await SmtpTestClient.ConnectAsync(mta.Port, System.Net.IPAddress.Parse("127.0.0.2")))
        {
            await c.ReadReplyAsync();
            await c.SendAsync("EHLO remote.example\r\nMAIL FROM:<dave@legacy.example>\r\nRCPT TO:<frank@legacy.example>\r\nDATA\r\n");
            for (int i = 0; i < 4; i++) await c.ReadReplyAsync();
            await c.SendAsync("From: dave@legacy.example\r\nTo: frank@legacy.example\r\nSubject: remote\r\n\r\nhi\r\n.\r\n");
            Assert.StartsWith("250 ", await c.ReadReplyAsync());
        }
        var rcpts = await RcptsAsync(sink, mta, 2);
        Assert.Contains("frank@example.com", rcpts);
        dump = File.ReadAllText(sink.DumpFile);
        Assert.Contains("To: frank@legacy.example", dump);
    }
}
