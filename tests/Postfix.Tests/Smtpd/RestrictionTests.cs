// smtpd access restrictions against a real MTA, with a client on a second
// loopback address (127.0.0.2) that is not in $mynetworks: relaying refused by
// default (never an open relay), local and relay_domains accepted, and the
// Postfix restriction names with their replies and NOQUEUE log lines.
using System.Net;
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Smtpd;

public class RestrictionTests
{
    private static readonly IPAddress Outsider = IPAddress.Parse("127.0.0.2");

    private const string Base = """
        mynetworks = 127.0.0.1/32
        mydestination = mx.test.example, localhost
        relay_domains = relayed.example
        """;

    /// <summary>Runs EHLO, MAIL FROM and one RCPT TO per recipient; returns the RCPT replies.</summary>
    private static async Task<List<string>> RcptAsync(MtaInstance mta, IPAddress? from, string helo, string sender, params string[] rcpts)
    {
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port, from);
        Assert.StartsWith("220 ", await c.ReadReplyAsync());
        await c.SendAsync($"EHLO {helo}\r\n");
        Assert.StartsWith("250", await c.ReadReplyAsync());
        await c.SendAsync($"MAIL FROM:<{sender}>\r\n");
        Assert.StartsWith("250 ", await c.ReadReplyAsync());
        var replies = new List<string>();
        foreach (var r in rcpts)
        {
            await c.SendAsync($"RCPT TO:<{r}>\r\n");
            replies.Add((await c.ReadReplyAsync()).TrimEnd());
        }
        return replies;
    }

    [Fact]
    public async Task DefaultIsNeverAnOpenRelay()
    {
        await using var mta = await MtaInstance.StartAsync(Base);
        var outside = await RcptAsync(mta, Outsider, "client.example", "a@example.org",
            "victim@foreign.example", "user@mx.test.example", "user@relayed.example", "user@sub.relayed.example");
        Assert.Equal("454 4.7.1 <victim@foreign.example>: Relay access denied", outside[0]);
        Assert.StartsWith("250 ", outside[1]);
        Assert.StartsWith("250 ", outside[2]);
        Assert.StartsWith("250 ", outside[3]);
        var inside = await RcptAsync(mta, null, "client.example", "a@example.org", "anyone@foreign.example");
        Assert.StartsWith("250 ", inside[0]);
        Assert.True(await Repo.WaitUntilAsync(() => Regex.IsMatch(mta.Maillog,
            @"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: 454 4\.7\.1 <victim@foreign\.example>: Relay access denied; from=<a@example\.org> to=<victim@foreign\.example> proto=ESMTP helo=<client\.example>"),
            TimeSpan.FromSeconds(10)), mta.Maillog);
    }

    [Fact]
    public async Task RejectUnauthDestinationAnswers554()
    {
        await using var mta = await MtaInstance.StartAsync(Base + "\nsmtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination");
        var r = await RcptAsync(mta, Outsider, "client.example", "a@example.org", "victim@foreign.example", "user@mx.test.example");
        Assert.Equal("554 5.7.1 <victim@foreign.example>: Relay access denied", r[0]);
        Assert.StartsWith("250 ", r[1]);
    }

    [Fact]
    public async Task AccessTablesForClientSenderRecipientAndHelo()
    {
        await using var mta = await MtaInstance.StartAsync(Base + """

            smtpd_client_restrictions = check_client_access inline:{ 127.0.0.3=REJECT }
            smtpd_helo_restrictions = check_helo_access inline:{ bad.helo.example=REJECT You are not welcome }
            smtpd_sender_restrictions = check_sender_access inline:{ spammer@bad.example=REJECT, bad2.example=550 5.7.0 Go away, friend@trusted.example=OK }
            smtpd_recipient_restrictions = check_recipient_access inline:{ closed@mx.test.example=REJECT Mailbox closed, {mx.test.example=DEFER Try later} }
            """);
        Assert.Equal("554 5.7.1 <spammer@bad.example>: Sender address rejected: Access denied",
            (await RcptAsync(mta, Outsider, "ok.example", "spammer@bad.example", "user@relayed.example"))[0]);
        Assert.Equal("550 5.7.0 <x@sub.bad2.example>: Sender address rejected: Go away",
            (await RcptAsync(mta, Outsider, "ok.example", "x@sub.bad2.example", "user@relayed.example"))[0]);
        Assert.Equal("554 5.7.1 <bad.helo.example>: Helo command rejected: You are not welcome",
            (await RcptAsync(mta, Outsider, "bad.helo.example", "a@example.org", "user@relayed.example"))[0]);
        var rcpt = await RcptAsync(mta, Outsider, "ok.example", "a@example.org", "closed@mx.test.example", "user@mx.test.example", "user@relayed.example");
        Assert.Equal("554 5.7.1 <closed@mx.test.example>: Recipient address rejected: Mailbox closed", rcpt[0]);
        Assert.Equal("450 4.7.1 <user@mx.test.example>: Recipient address rejected: Try later", rcpt[1]);
        Assert.StartsWith("250 ", rcpt[2]);
        // OK in the sender list ends that list only: the relay list still refuses foreign mail.
        Assert.Equal("454 4.7.1 <v@foreign.example>: Relay access denied",
            (await RcptAsync(mta, Outsider, "ok.example", "friend@trusted.example", "v@foreign.example"))[0]);
        Assert.Equal("554 5.7.1 <unknown[127.0.0.3]>: Client host rejected: Access denied",
            (await RcptAsync(mta, IPAddress.Parse("127.0.0.3"), "ok.example", "a@example.org", "user@relayed.example"))[0]);
    }

    [Fact]
    public async Task NonFqdnAndInvalidHeloRestrictions()
    {
        await using var mta = await MtaInstance.StartAsync(Base + """

            smtpd_helo_restrictions = reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname
            smtpd_sender_restrictions = reject_non_fqdn_sender
            smtpd_recipient_restrictions = reject_non_fqdn_recipient
            """);
        Assert.Equal("504 5.5.2 <plainhost>: Helo command rejected: need fully-qualified hostname",
            (await RcptAsync(mta, Outsider, "plainhost", "a@example.org", "u@relayed.example"))[0]);
        Assert.Equal("501 5.5.2 <bad_host!.example>: Helo command rejected: Invalid name",
            (await RcptAsync(mta, Outsider, "bad_host!.example", "a@example.org", "u@relayed.example"))[0]);
        Assert.StartsWith("250 ", (await RcptAsync(mta, Outsider, "[127.0.0.2]", "a@example.org", "u@relayed.example"))[0]);
        Assert.Equal("504 5.5.2 <a@localdomain>: Sender address rejected: need fully-qualified address",
            (await RcptAsync(mta, Outsider, "ok.example", "a@localdomain", "u@relayed.example"))[0]);
        Assert.Equal("504 5.5.2 <u@relayed>: Recipient address rejected: need fully-qualified address",
            (await RcptAsync(mta, null, "ok.example", "a@example.org", "u@relayed"))[0]);
    }

    [Fact]
    public async Task EarlyTalkerIsRejectedWithUnauthPipelining()
    {
        await using var mta = await MtaInstance.StartAsync(Base + "\nsmtpd_client_restrictions = sleep 1, reject_unauth_pipelining");
        // Polite client: waits for the greeting.
        Assert.StartsWith("250 ", (await RcptAsync(mta, Outsider, "ok.example", "a@example.org", "u@relayed.example"))[0]);
        // Spambot: talks before the greeting.
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port, Outsider);
        await c.SendAsync("EHLO bot.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<u@relayed.example>\r\n");
        Assert.StartsWith("220 ", await c.ReadReplyAsync());
        Assert.StartsWith("250", await c.ReadReplyAsync());
        Assert.StartsWith("250 ", await c.ReadReplyAsync());
        Assert.Equal("503 5.5.0 Error: improper use of SMTP command pipelining", (await c.ReadReplyAsync()).TrimEnd());
        Assert.True(await Repo.WaitUntilAsync(() => mta.Maillog.Contains("improper command pipelining after CONNECT from unknown[127.0.0.2]"), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task OpenRelayConfigurationIsRefused()
    {
        await using var mta = MtaInstance.Prepare("smtpd_relay_restrictions = permit_mynetworks, permit");
        var r = await mta.PostfixAsync("check");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("this would be an open relay", r.Stderr);
        var bad = MtaInstance.Prepare("smtpd_recipient_restrictions = reject_bogus_thing");
        await using (bad)
        {
            var b = await bad.PostfixAsync("check");
            Assert.Equal(1, b.ExitCode);
            Assert.Contains("unsupported restriction \"reject_bogus_thing\"", b.Stderr);
        }
    }

    [Fact]
    public async Task RejectUnlistedRecipientPerAddressClass()
    {
        var mta = MtaInstance.Prepare(Base + """

            smtpd_reject_unlisted_recipient = yes
            virtual_alias_domains = alias.example
            virtual_alias_maps = inline:{ known@alias.example=alice@mx.test.example }
            virtual_mailbox_domains = mbox.example
            virtual_mailbox_maps = inline:{ carol@mbox.example=carol/ }
            """);
        await using (mta)
        {
            File.WriteAllText(Path.Combine(mta.Dir, "passwd"), "alice:x:1000:1000:Alice:/tmp:/bin/sh\n");
            await mta.StartProcessAsync();
            var r = await RcptAsync(mta, null, "client.example", "a@example.org",
                "alice@mx.test.example", "bob@mx.test.example", "known@alias.example", "stranger@alias.example",
                "carol@mbox.example", "dave@mbox.example", "anyone@foreign.example");
            Assert.StartsWith("250 ", r[0]);
            Assert.Equal("550 5.1.1 <bob@mx.test.example>: Recipient address rejected: User unknown in local recipient table", r[1]);
            Assert.StartsWith("250 ", r[2]);
            Assert.Equal("550 5.1.1 <stranger@alias.example>: Recipient address rejected: User unknown in virtual alias table", r[3]);
            Assert.StartsWith("250 ", r[4]);
            Assert.Equal("550 5.1.1 <dave@mbox.example>: Recipient address rejected: User unknown in virtual mailbox table", r[5]);
            Assert.StartsWith("250 ", r[6]); // mynetworks may relay; remote users are not checked
        }
    }
}
