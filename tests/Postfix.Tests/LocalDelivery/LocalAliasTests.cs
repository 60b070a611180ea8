// local(8) and aliases(5): lists of users, :include: files, /file and |command
// destinations (with local(8)'s environment and exit status mapping), an
// alias that names itself, alias loops, allow_mail_to_* restrictions and the
// once-per-message duplicate filter.
using System.Text.RegularExpressions;
using Postfix.Core.Delivery;
using Postfix.Core.Util;
using Xunit;

namespace Postfix.Tests.LocalDelivery;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalAliasTests : IDisposable
{
    private readonly LocalTestBed _bed = new();

    public void Dispose() => _bed.Dispose();

    private const string Body = "Subject: alias test\n\nhello\n";

    private static string Summary(DeliveryReport r) =>
        string.Join("; ", r.Results.Select(x => $"{x.Recipient.Address} {x.Status} {x.Dsn} ({x.Diagnostic})"));

    [Fact]
    public async Task AliasToSeveralUsersDeliversToEach()
    {
        _bed.Aliases("# staff list", "staff alice, bob,carol");
        var report = await _bed.SendAsync("", Body, "staff@mx.test");
        Assert.Equal(["alice@mx.test", "bob@mx.test", "carol@mx.test"], report.Results.Select(r => r.Recipient.Address));
        Assert.All(report.Results, r => Assert.Equal((DeliveryStatus.Sent, "delivered to mailbox", 0), (r.Status, r.Diagnostic, r.Recipient.Index)));
        foreach (var u in new[] { "alice", "bob", "carol" })
        {
            var text = _bed.MailboxText(u);
            // frozen_delivered_to: Delivered-To is the recipient qmgr asked for.
            Assert.Contains("\nX-Original-To: staff@mx.test\nDelivered-To: staff@mx.test\n", text);
        }
    }

    [Fact]
    public async Task AliasWithExtensionFallsBackToTheBareName()
    {
        _bed.Aliases("staff alice", "staff+urgent bob");
        var report = await _bed.SendAsync("recipient_delimiter = +", Body, "staff+urgent@mx.test", "staff+other@mx.test");
        Assert.Equal(["bob@mx.test", "alice@mx.test"], report.Results.Select(r => r.Recipient.Address));
    }

    [Fact]
    public async Task AliasNamingItselfDeliversToTheUser()
    {
        _bed.Aliases("alice alice, bob");
        var report = await _bed.SendAsync("", Body, "alice@mx.test");
        Assert.Equal("alice@mx.test Sent 2.0.0 (delivered to mailbox); bob@mx.test Sent 2.0.0 (delivered to mailbox)", Summary(report));
    }

    [Fact]
    public async Task MutualAliasLoopBouncesAtTheNestingLimit()
    {
        _bed.Aliases("ping pong", "pong ping");
        var report = await _bed.SendAsync("", Body, "ping@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Bounced, "5.4.6"), (r.Status, r.Dsn));
        Assert.Matches("^(recipient nesting limit exceeded|alias database loop for p[io]ng)$", r.Diagnostic);
    }

    [Fact]
    public async Task IncludeFileAddressesAreForwardedAsOneNewMessage()
    {
        var list = Path.Combine(_bed.Root, "list.txt");
        File.WriteAllText(list, "# members\nalice\nbob@mx.test, friend@example.net\n");
        _bed.Aliases($"team :include:{list}");
        var report = await _bed.SendAsync("", Body, "team@mx.test");
        var id = Assert.Single(_bed.Queue.Messages).Id.ToString();
        Assert.Equal($"team@mx.test Sent 2.0.0 (forwarded as {id})", Summary(report));
        var fwd = _bed.Queue.Messages[0];
        Assert.Equal("sender@example.org", fwd.Sender);
        Assert.Equal(["alice@mx.test", "bob@mx.test", "friend@example.net"], fwd.Recipients.Select(r => r.Address));
        var content = System.Text.Encoding.UTF8.GetString(fwd.Content.Span);
        Assert.Matches($@"^Received: by mx\.test \(Postfix\)\r\n\tid {id}; \w{{3}}, \d{{1,2}} \w{{3}} \d{{4}} \d\d:\d\d:\d\d [+-]\d{{4}}.*\r\nDelivered-To: team@mx\.test\r\nSubject: alias test\r\n\r\nhello\r\n$", content);
    }

    [Fact]
    public async Task IncludeLoopIsCaughtByTheDuplicateFilter()
    {
        var a = Path.Combine(_bed.Root, "a.txt");
        var b = Path.Combine(_bed.Root, "b.txt");
        File.WriteAllText(a, $":include:{b}\n");
        File.WriteAllText(b, $":include:{a}\nalice\n");
        _bed.Aliases($"team :include:{a}");
        var report = await _bed.SendAsync("", Body, "team@mx.test");
        Assert.Matches(@"^team@mx\.test Sent 2\.0\.0 \(forwarded as [0-9A-F]{12}\)$", Summary(report));
        Assert.Equal(["alice@mx.test"], _bed.Queue.Messages[0].Recipients.Select(r => r.Address));
    }

    [Fact]
    public async Task RelativeOrWorldWritableIncludeBounces()
    {
        var ww = Path.Combine(_bed.Root, "ww.txt");
        File.WriteAllText(ww, "alice\n");
        File.SetUnixFileMode(ww, (UnixFileMode)0b110_110_110);
        _bed.Aliases("rel :include:list.txt", $"ww :include:{ww}");
        var report = await _bed.SendAsync("", Body, "rel@mx.test", "ww@mx.test");
        Assert.All(report.Results, r => Assert.Equal((DeliveryStatus.Bounced, "5.3.5", "mail system configuration error"), (r.Status, r.Dsn, r.Diagnostic)));
    }

    [Fact]
    public async Task FileDestinationAppendsInMboxFormat()
    {
        var file = Path.Combine(_bed.Out, "archive");
        _bed.Aliases($"archive {file}");
        var report = await _bed.SendAsync("", Body, "archive@mx.test");
        Assert.Equal($"archive@mx.test Sent 2.0.0 (delivered to file: {file})", Summary(report));
        var text = File.ReadAllText(file);
        Assert.StartsWith("From sender@example.org  ", text);
        Assert.Contains("\nDelivered-To: archive@mx.test\nSubject: alias test\n\nhello\n\n", text);
        // No user context: written with default_privs (nobody), never as root.
        if (UnixFile.IsRoot) { Assert.Equal(0, UnixFile.LStat(file, out var st)); Assert.Equal(65534u, st.Uid); }
    }

    [Fact]
    public async Task FileAndCommandInIncludeAreRestrictedByDefault()
    {
        var list = Path.Combine(_bed.Root, "list.txt");
        File.WriteAllText(list, $"{_bed.Out}/file\n\"|/bin/true\"\n");
        _bed.Aliases($"team :include:{list}");
        var report = await _bed.SendAsync("", Body, "team@mx.test");
        Assert.Equal("team@mx.test Bounced 5.7.1 (mail to file is restricted); team@mx.test Bounced 5.7.1 (mail to command is restricted)", Summary(report));

        report = await _bed.SendAsync("allow_mail_to_files = alias, forward, include\nallow_mail_to_commands = alias, forward, include", Body, "team@mx.test");
        Assert.Equal($"team@mx.test Sent 2.0.0 (delivered to file: {_bed.Out}/file); team@mx.test Sent 2.0.0 (delivered to command: /bin/true)", Summary(report));
    }

    [Fact]
    public async Task CommandGetsTheMessageAndLocalEnvironment()
    {
        var outDir = _bed.Out;
        _bed.Aliases($"robot \"|/usr/bin/env > {outDir}/env.txt; /bin/cat > {outDir}/msg.txt\"");
        var report = await _bed.SendAsync("recipient_delimiter = +", Body, "robot+job7@mx.test");
        Assert.Equal($"robot+job7@mx.test Sent 2.0.0 (delivered to command: /usr/bin/env > {outDir}/env.txt; /bin/cat > {outDir}/msg.txt)", Summary(report));
        var env = File.ReadAllLines(Path.Combine(outDir, "env.txt")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("sender@example.org", env["SENDER"]);
        Assert.Equal("robot+job7@mx.test", env["RECIPIENT"]);
        Assert.Equal("robot+job7@mx.test", env["ORIGINAL_RECIPIENT"]);
        Assert.Equal("robot", env["USER"]);
        Assert.Equal("robot", env["LOGNAME"]);
        Assert.Equal("job7", env["EXTENSION"]);
        Assert.Equal("mx.test", env["DOMAIN"]);
        Assert.Equal("robot+job7", env["LOCAL"]);
        Assert.Equal("192.0.2.1", env["CLIENT_ADDRESS"]);
        Assert.Equal("/usr/bin:/bin", env["PATH"]);
        Assert.False(env.ContainsKey("HOME")); // an alias has no user context
        var msg = File.ReadAllText(Path.Combine(outDir, "msg.txt"));
        Assert.Matches(@"^From sender@example\.org  .*\nReturn-Path: <sender@example\.org>\nX-Original-To: robot\+job7@mx\.test\nDelivered-To: robot\+job7@mx\.test\nSubject: alias test\n\nhello\n$", msg);
    }

    [Fact]
    public async Task CommandEnvironmentIsCensored()
    {
        _bed.Aliases($"robot \"|/usr/bin/env > {_bed.Out}/env.txt\"");
        var m = LocalTestBed.Message("evil`rm -rf`$(x)@example.org", ["robot@mx.test"], Body);
        await LocalTestBed.DeliverAsync(_bed.Local(), m);
        var env = File.ReadAllText(Path.Combine(_bed.Out, "env.txt"));
        Assert.Contains("\nSENDER=evil_rm_-rf___x_@example.org\n", "\n" + env);
    }

    [Theory]
    [InlineData("exit 0", DeliveryStatus.Sent, "2.0.0", "delivered to command: exit 0")]
    [InlineData("exit 75", DeliveryStatus.Deferred, "4.3.0", "temporary failure")]
    [InlineData("echo try later; exit 75", DeliveryStatus.Deferred, "4.3.0", "temporary failure. Command output: try later")]
    [InlineData("exit 67", DeliveryStatus.Bounced, "5.1.1", "user unknown")]
    [InlineData("echo no such mailbox >&2; exit 1", DeliveryStatus.Bounced, "5.3.0", "Command died with status 1: \"echo no such mailbox >&2; exit 1\". Command output: no such mailbox")]
    [InlineData("echo 4.2.2 mailbox full; exit 1", DeliveryStatus.Deferred, "4.2.2", "4.2.2 mailbox full")]
    public async Task CommandExitStatusMapsToDeliveryStatus(string command, DeliveryStatus status, string dsn, string text)
    {
        _bed.Aliases($"robot \"|{command}\"");
        var report = await _bed.SendAsync("", Body, "robot@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((status, dsn, text), (r.Status, r.Dsn, r.Diagnostic));
    }

    [Fact]
    public async Task CommandTimeLimitKillsAndBounces()
    {
        _bed.Aliases("slow \"|sleep 30\"");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var report = await _bed.SendAsync("command_time_limit = 1s", Body, "slow@mx.test");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), clock.Elapsed.ToString());
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Bounced, "5.3.0", "Command time limit exceeded: \"sleep 30\""), (r.Status, r.Dsn, r.Diagnostic));
    }

    [Fact]
    public async Task CommandRunsAsDefaultPrivsWhenRoot()
    {
        if (!UnixFile.IsRoot) return; // identity switching needs root
        _bed.Aliases($"who \"|id -u > {_bed.Out}/uid.txt\"");
        await _bed.SendAsync("", Body, "who@mx.test");
        Assert.Equal("65534", File.ReadAllText(Path.Combine(_bed.Out, "uid.txt")).Trim());
    }

    [Fact]
    public async Task PartialDeferralReportsOnlyTheDeferrals()
    {
        _bed.Aliases("mixed alice, \"|exit 75\", friend@example.net");
        var report = await _bed.SendAsync("", Body, "mixed@mx.test");
        Assert.Equal("mixed@mx.test Deferred 4.3.0 (temporary failure)", Summary(report));
        Assert.Empty(_bed.Queue.Messages); // forwarding is cancelled with the deferral: all is retried
    }

    [Fact]
    public async Task EachDestinationIsDeliveredOncePerMessage()
    {
        _bed.Aliases("staff alice, bob", "team staff, alice, bob@MX.TEST");
        var report = await _bed.SendAsync("", Body, "alice@mx.test", "staff@mx.test", "team@mx.test");
        Assert.Single(Regex.Matches(_bed.MailboxText("alice"), "^From ", RegexOptions.Multiline));
        Assert.Single(Regex.Matches(_bed.MailboxText("bob"), "^From ", RegexOptions.Multiline));
        Assert.Equal("alice@mx.test Sent 2.0.0 (delivered to mailbox); bob@mx.test Sent 2.0.0 (delivered to mailbox); "
            + "team@mx.test Sent 2.0.0 (duplicate destination, delivered once for this message)", Summary(report));
    }

    [Fact]
    public async Task RemoteAddressesInAnAliasAreForwarded()
    {
        _bed.Aliases("list alice, friend@example.net, \"Other Person\" <other@example.com>");
        var report = await _bed.SendAsync("", Body, "list@mx.test");
        var id = Assert.Single(_bed.Queue.Messages).Id.ToString();
        Assert.Equal($"alice@mx.test Sent 2.0.0 (delivered to mailbox); list@mx.test Sent 2.0.0 (forwarded as {id})", Summary(report));
        Assert.Equal(["friend@example.net", "other@example.com"], _bed.Queue.Messages[0].Recipients.Select(r => r.Address));
    }

    [Fact]
    public async Task ForwardFailureDefers()
    {
        _bed.Aliases("list friend@example.net");
        _bed.Queue.Fail = true;
        var report = await _bed.SendAsync("", Body, "list@mx.test");
        Assert.Equal("list@mx.test Deferred 4.3.0 (cannot forward message: queue file write error (test))", Summary(report));
    }
}
