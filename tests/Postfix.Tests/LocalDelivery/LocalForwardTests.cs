// local(8)'s ~/.forward (forward_path with $home and ${extension}, a user
// listing herself, resubmission of other local users, commands with the
// user's rights) and luser_relay with each $name it expands.
using System.Text;
using Postfix.Core.Delivery;
using Postfix.Core.Util;
using Xunit;

namespace Postfix.Tests.LocalDelivery;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalForwardTests : IDisposable
{
    private readonly LocalTestBed _bed = new();

    public void Dispose() => _bed.Dispose();

    private const string Body = "Subject: forward test\n\nhello\n";

    private static string Summary(DeliveryReport r) =>
        string.Join("; ", r.Results.Select(x => $"{x.Recipient.Address} {x.Status} {x.Dsn} ({x.Diagnostic})"));

    [Fact]
    public async Task DotForwardKeepsACopyAndForwardsTheRest()
    {
        _bed.WriteUserFile("alice", ".forward", "# keep one\nalice, friend@example.net\n");
        var report = await _bed.SendAsync("", Body, "alice@mx.test");
        var fwd = Assert.Single(_bed.Queue.Messages);
        Assert.Equal($"alice@mx.test Sent 2.0.0 (delivered to mailbox); alice@mx.test Sent 2.0.0 (forwarded as {fwd.Id})", Summary(report));
        Assert.Equal(["friend@example.net"], fwd.Recipients.Select(r => r.Address));
        Assert.Contains("\r\nDelivered-To: alice@mx.test\r\nSubject: forward test\r\n", Encoding.UTF8.GetString(fwd.Content.Span));
    }

    [Fact]
    public async Task DotForwardToAnotherLocalUserIsResubmitted()
    {
        _bed.WriteUserFile("alice", ".forward", "bob\n");
        var report = await _bed.SendAsync("", Body, "alice@mx.test");
        var fwd = Assert.Single(_bed.Queue.Messages);
        Assert.Equal($"alice@mx.test Sent 2.0.0 (forwarded as {fwd.Id})", Summary(report));
        Assert.Equal(["bob@mx.test"], fwd.Recipients.Select(r => r.Address));
        Assert.False(File.Exists(Path.Combine(_bed.Spool, "alice")));
    }

    [Fact]
    public async Task EmptyDotForwardDeliversToTheMailbox()
    {
        _bed.WriteUserFile("alice", ".forward", "# nothing\n\n");
        var report = await _bed.SendAsync("", Body, "alice@mx.test");
        Assert.Equal("alice@mx.test Sent 2.0.0 (delivered to mailbox)", Summary(report));
    }

    [Fact]
    public async Task DotForwardWithExtensionIsPreferred()
    {
        _bed.WriteUserFile("alice", ".forward", "plain@example.net\n");
        _bed.WriteUserFile("alice", ".forward+lists", "lists@example.net\n");
        await _bed.SendAsync("recipient_delimiter = +", Body, "alice+lists@mx.test", "alice+other@mx.test");
        var all = _bed.Queue.Messages.SelectMany(m => m.Recipients).Select(r => r.Address).Order().ToArray();
        Assert.Equal(["lists@example.net", "plain@example.net"], all);
    }

    [Fact]
    public async Task WorldWritableDotForwardIsIgnored()
    {
        var path = _bed.WriteUserFile("alice", ".forward", "friend@example.net\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b110_110_110);
        var report = await _bed.SendAsync("", Body, "alice@mx.test");
        Assert.Equal("alice@mx.test Sent 2.0.0 (delivered to mailbox)", Summary(report));
        Assert.True(await Infrastructure.Repo.WaitUntilAsync(() => _bed.Log.Contains($"warning: 01234567890A: file {path} is world writable"), TimeSpan.FromSeconds(10)), _bed.Log);
    }

    [Fact]
    public async Task DotForwardCommandRunsAsTheUserWithHome()
    {
        var outFile = Path.Combine(_bed.Home("bob"), "out.txt");
        _bed.WriteUserFile("bob", ".forward", $"\"|/usr/bin/id -u > {outFile}; /usr/bin/env >> {outFile}\"\n");
        var report = await _bed.SendAsync("", Body, "bob@mx.test");
        Assert.Equal(DeliveryStatus.Sent, Assert.Single(report.Results).Status);
        var lines = File.ReadAllLines(outFile);
        Assert.Equal(_bed.User("bob").Uid.ToString(), lines[0]);
        Assert.Contains($"HOME={_bed.Home("bob")}", lines);
        Assert.Contains("SHELL=/bin/sh", lines);
        Assert.Contains("USER=bob", lines);
    }

    [Fact]
    public async Task DotForwardHomeRelativeFileIsWrittenAsTheUser()
    {
        _bed.WriteUserFile("alice", ".forward", "~/saved\n");
        var report = await _bed.SendAsync("", Body, "alice@mx.test");
        var saved = Path.Combine(_bed.Home("alice"), "saved");
        Assert.Equal($"alice@mx.test Sent 2.0.0 (delivered to file: {saved})", Summary(report));
        Assert.StartsWith("From sender@example.org  ", File.ReadAllText(saved));
        if (UnixFile.IsRoot) { Assert.Equal(0, UnixFile.LStat(saved, out var st)); Assert.Equal((uint)_bed.User("alice").Uid, st.Uid); }
    }

    [Fact]
    public async Task MailboxCommandReplacesMailboxDelivery()
    {
        var report = await _bed.SendAsync("mailbox_command = cat > \"$HOME/mbox-cmd.txt\"", Body, "carol@mx.test");
        Assert.Equal("carol@mx.test Sent 2.0.0 (delivered to command: cat > \"$HOME/mbox-cmd.txt\")", Summary(report));
        var text = File.ReadAllText(Path.Combine(_bed.Home("carol"), "mbox-cmd.txt"));
        Assert.Matches("^From sender@example\\.org  .*\nReturn-Path: <sender@example\\.org>\nX-Original-To: carol@mx\\.test\nDelivered-To: carol@mx\\.test\n", text);
        Assert.False(File.Exists(Path.Combine(_bed.Spool, "carol")));
    }

    [Fact]
    public async Task ForwardPathCanBeSwitchedOff()
    {
        _bed.WriteUserFile("alice", ".forward", "friend@example.net\n");
        var report = await _bed.SendAsync("forward_path =", Body, "alice@mx.test");
        Assert.Equal("alice@mx.test Sent 2.0.0 (delivered to mailbox)", Summary(report));
    }

    [Theory]
    [InlineData("$user@relay.example", "nosuch@relay.example")]
    [InlineData("${extension}@relay.example", "tag@relay.example")]
    [InlineData("$local@relay.example", "nosuch+tag@relay.example")]
    [InlineData("lost@relay.$domain", "lost@relay.mx.test")]
    [InlineData("${recipient}.relay.example", "nosuch+tag@mx.test.relay.example")]
    [InlineData("$recipient_delimiter${user}@relay.example", "+nosuch@relay.example")]
    [InlineData("${extension?{x-$extension}:{none}}@relay.example", "x-tag@relay.example")]
    public async Task LuserRelayExpandsEachVariable(string relay, string expected)
    {
        var report = await _bed.SendAsync($"local_recipient_maps =\nrecipient_delimiter = +\nluser_relay = {relay}", Body, "nosuch+tag@mx.test");
        var fwd = Assert.Single(_bed.Queue.Messages);
        Assert.Equal([expected], fwd.Recipients.Select(r => r.Address));
        Assert.Equal($"nosuch+tag@mx.test Sent 2.0.0 (forwarded as {fwd.Id})", Summary(report));
    }

    [Fact]
    public async Task LuserRelayToALocalUserDeliversThere()
    {
        var report = await _bed.SendAsync("local_recipient_maps =\nluser_relay = carol", Body, "nosuch@mx.test");
        Assert.Equal("carol@mx.test Sent 2.0.0 (delivered to mailbox)", Summary(report));
        Assert.Equal(0, Assert.Single(report.Results).Recipient.Index);
        Assert.Contains("\nX-Original-To: nosuch@mx.test\nDelivered-To: nosuch@mx.test\n", _bed.MailboxText("carol"));
    }

    [Fact]
    public async Task LuserRelayIsNotUsedWhileTheRecipientTableRejects()
    {
        // As with Postfix: with local_recipient_maps set, unknown users never reach luser_relay.
        var report = await _bed.SendAsync("luser_relay = carol", Body, "nosuch@mx.test");
        Assert.Equal("nosuch@mx.test Bounced 5.1.1 (User unknown in local recipient table)", Summary(report));
    }

    [Fact]
    public async Task ForwardedMessageKeepsEnvelopeDsnAndStripsNotifySuccess()
    {
        _bed.Aliases("list friend@example.net");
        var m = LocalTestBed.Message("sender@example.org", ["list@mx.test"], Body) with { EnvId = "env-42", Ret = Core.Queue.DsnRet.Hdrs };
        m = m with { Recipients = [new Core.Queue.QueuedRecipient(0, "list@mx.test", "rfc822;list@mx.test", Core.Queue.DsnNotify.Success | Core.Queue.DsnNotify.Failure)] };
        await LocalTestBed.DeliverAsync(_bed.Local(), m);
        var fwd = Assert.Single(_bed.Queue.Messages);
        Assert.Equal(("env-42", Core.Queue.DsnRet.Hdrs), (fwd.EnvId, fwd.Ret));
        var r = Assert.Single(fwd.Recipients);
        Assert.Equal(("rfc822;list@mx.test", Core.Queue.DsnNotify.Failure), (r.Orcpt, r.Notify));
    }
}
