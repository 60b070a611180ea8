// virtual(8) end to end with a real reader: mail for a virtual mailbox domain,
// submitted by SMTP, is delivered by our virtual agent into a Maildir under
// virtual_mailbox_base as Dovecot's mail user (virtual_uid_maps static:8), and
// a real Dovecot reads it back (doveadm fetch through Dovecot's own userdb and
// mail storage), proving the Maildir layout and file names are valid.
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.VirtualDelivery;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VirtualDovecotTests
{
    private const string Alice = "alice@virt.test";

    [Fact]
    public async Task VirtualMaildirIsReadByDovecot()
    {
        await using var dovecot = await Dovecot.StartAsync(Alice);
        var maps = Path.Combine(dovecot.Dir, "vmailbox");
        // Dovecot's mail_location is maildir:<root>/mail/%u: point the virtual mailbox there.
        File.WriteAllText(maps, $"{Alice} {Alice}/\n");
        await using var mta = await MtaInstance.StartAsync($$"""
            virtual_mailbox_domains = virt.test
            virtual_mailbox_base = {{dovecot.MailRoot}}
            virtual_mailbox_maps = texthash:{{maps}}
            virtual_uid_maps = static:8
            virtual_gid_maps = static:8
            virtual_minimum_uid = 8
            transport_maps = inline:{ virt.test=virtual: }
            """);

        string id1, id2;
        await using (var c = await SmtpTestClient.ConnectAsync(mta.Port))
        {
            Assert.StartsWith("220", await c.ReadReplyAsync());
            await c.SendAsync("EHLO client.test\r\n");
            Assert.StartsWith("250", await c.ReadReplyAsync());
            id1 = await c.SendMessageAsync("sender@client.test", Alice, "Subject: first virtual\r\n\r\nhello dovecot\r\n");
            id2 = await c.SendMessageAsync("sender@client.test", Alice, "Subject: second virtual\r\n\r\nFrom a line\r\n");
        }
        foreach (var id in new[] { id1, id2 })
        {
            var line = new Regex($@"postfix/virtual\[\d+\]: {id}: to=<{Regex.Escape(Alice)}>, relay=virtual, delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent \(delivered to maildir\)");
            await Repo.WaitUntilAsync(() => line.IsMatch(mta.Maillog), TimeSpan.FromSeconds(60), 100);
            Assert.True(line.IsMatch(mta.Maillog), mta.Maillog);
        }
        Assert.Equal(2, dovecot.MaildirMessages(Alice).Length);

        var conf = Path.Combine(dovecot.Dir, "dovecot.conf");
        var fetch = await Repo.RunAsync(Repo.Which("doveadm"),
            ["-c", conf, "fetch", "-u", Alice, "hdr.subject hdr.delivered-to body", "mailbox", "INBOX", "all"], TimeSpan.FromSeconds(60));
        Assert.True(fetch.ExitCode == 0, $"doveadm fetch: {fetch.Stderr}\n{dovecot.Log}");
        Assert.Contains("first virtual", fetch.Stdout);
        Assert.Contains("second virtual", fetch.Stdout);
        Assert.Contains("hello dovecot", fetch.Stdout);
        Assert.Contains("From a line", fetch.Stdout); // no >From quoting in a maildir
        Assert.Equal(2, Regex.Matches(fetch.Stdout, Regex.Escape(Alice)).Count);

        // Dovecot's view of sizes comes from our S=/W= file names: they must agree with its own count.
        var sizes = await Repo.RunAsync(Repo.Which("doveadm"),
            ["-c", conf, "fetch", "-u", Alice, "size.physical size.virtual", "mailbox", "INBOX", "all"], TimeSpan.FromSeconds(60));
        Assert.True(sizes.ExitCode == 0, sizes.Stderr);
        var files = dovecot.MaildirMessages(Alice).Select(f => new FileInfo(f)).ToArray();
        foreach (var f in files)
        {
            var m = Regex.Match(f.Name, @",S=(\d+),W=(\d+)");
            Assert.Equal(f.Length, long.Parse(m.Groups[1].Value));
            Assert.Contains($"size.physical: {f.Length}", sizes.Stdout);
            Assert.Contains($"size.virtual: {m.Groups[2].Value}", sizes.Stdout);
        }
        Assert.DoesNotContain("Error", dovecot.Log);
    }
}
