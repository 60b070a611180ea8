// The issue's addressing scenarios in a running MTA, over SMTP and sendmail:
// luser_relay ($user@other.example and a fixed catch-all) for unknown local
// users, and trap 2 with a virtual mailbox user who is also a virtual alias
// and a list member: exactly one copy lands in the Maildir.
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Postfix.Tests.Relay;
using Xunit;

namespace Postfix.Tests.LocalDelivery;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AddressingEndToEndTests
{
    private static async Task<MtaInstance> StartLocalAsync(SmtpSink sink, string extra)
    {
        var mta = MtaInstance.Prepare($"""
            defer_transports =
            relayhost = [127.0.0.1]:{sink.Port}
            mydestination = mx.test.example, localhost
            local_recipient_maps =
            {extra}
            """);
        // An empty passwd database: every local name is unknown.
        File.WriteAllText(Path.Combine(mta.Dir, "passwd"), "");
        await mta.StartProcessAsync();
        return mta;
    }

    private static Task<Repo.Result> Swaks(MtaInstance mta, string to) =>
        Repo.RunAsync(Repo.Which("swaks"), ["--server", $"127.0.0.1:{mta.Port}", "--from", "sender@example.org", "--to", to, "--silent", "2"]);

    [Fact]
    public async Task LuserRelayWithUserVariableOverSmtp()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartLocalAsync(sink, "luser_relay = $user@other.example\nrecipient_delimiter = +");
        var r = await Swaks(mta, "ghost+tag@mx.test.example");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.True(await Repo.WaitUntilAsync(() => sink.RcptArgs.Contains("ghost@other.example"), TimeSpan.FromSeconds(60)), mta.Maillog);
        Assert.Matches(@"postfix/local\[\d+\]: [0-9A-F]{12}: to=<ghost\+tag@mx\.test\.example>, relay=local, .*status=sent \(forwarded as [0-9A-F]{12}\)", mta.Maillog);
        await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task LuserRelayCatchAllOverSendmail()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartLocalAsync(sink, "luser_relay = catchall@other.example");
        var r = await mta.SendmailAsync("Subject: to nobody\n\nhello\n", "-f", "cron@example.org", "nobody@mx.test.example", "ghost");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(await Repo.WaitUntilAsync(() => sink.RcptArgs.Count(a => a == "catchall@other.example") >= 1, TimeSpan.FromSeconds(60)), mta.Maillog);
        await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromSeconds(60));
        // Both unknown users map to the same catch-all: local's duplicate filter sends one copy.
        Assert.Equal(1, sink.RcptArgs.Count(a => a == "catchall@other.example"));
    }

    [Fact]
    public async Task VirtualUserWhoIsAlsoAnAliasAndAListMemberGetsOneCopy()
    {
        await using var sink = await SmtpSink.StartAsync();
        var mta = MtaInstance.Prepare($$"""
            defer_transports =
            relayhost = [127.0.0.1]:{{sink.Port}}
            virtual_mailbox_domains = vm.test
            virtual_mailbox_maps = inline:{ bob@vm.test=bob/ }
            virtual_uid_maps = static:65534
            virtual_gid_maps = static:65534
            virtual_alias_maps = inline:{ {all@vm.test = bob@vm.test, carol@else.example}, {bob@vm.test = bob@vm.test}, {robert@vm.test = bob@vm.test} }
            """);
        await using (mta)
        {
            var baseDir = Path.Combine(mta.Dir, "vmail");
            Directory.CreateDirectory(baseDir);
            File.SetUnixFileMode(baseDir, (UnixFileMode)0x1FF); // 0777: the mailbox owner (65534) creates its Maildir
            File.AppendAllText(Path.Combine(mta.ConfigDir, "main.cf"), $"virtual_mailbox_base = {baseDir}\n");
            await mta.StartProcessAsync();
            var r = await Repo.RunAsync(Repo.Which("swaks"), ["--server", $"127.0.0.1:{mta.Port}", "--from", "x@example.org",
                "--to", "bob@vm.test,all@vm.test,robert@vm.test,BOB@vm.test", "--silent", "2"]);
            Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
            Assert.True(await Repo.WaitUntilAsync(() => Regex.IsMatch(mta.Maillog, @"to=<bob@vm\.test>, relay=virtual, .*status=sent"), TimeSpan.FromSeconds(60)), mta.Maillog);
            Assert.True(await Repo.WaitUntilAsync(() => sink.RcptArgs.Contains("carol@else.example"), TimeSpan.FromSeconds(60)), mta.Maillog);
            await RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromSeconds(60));
            var delivered = Directory.GetFiles(Path.Combine(baseDir, "bob", "new"));
            Assert.Single(delivered);
            Assert.Single(Regex.Matches(mta.Maillog, @"to=<bob@vm\.test>, .*status=sent"));
        }
    }
}
