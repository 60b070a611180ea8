// local(8) to passwd users: mail_spool_directory mbox and home_mailbox
// Maildir, with the envelope headers Postfix prepends, ownership by the
// recipient when we run as root, address extensions, the local recipient
// table, unknown users and the Delivered-To forwarding-loop check.
using System.Text.RegularExpressions;
using Postfix.Core.Delivery;
using Postfix.Core.Util;
using Xunit;

namespace Postfix.Tests.LocalDelivery;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalMailboxTests : IDisposable
{
    private readonly LocalTestBed _bed = new();

    public void Dispose() => _bed.Dispose();

    private const string Body = "Subject: test\nFrom: sender@example.org\n\nFrom here on\nbody\n";

    [Fact]
    public async Task SpoolMailboxGetsMboxWithPostfixHeaders()
    {
        var report = await _bed.SendAsync("", Body, "alice@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Sent, "2.0.0", "delivered to mailbox"), (r.Status, r.Dsn, r.Diagnostic));
        Assert.Equal("alice@mx.test", r.Recipient.Address);
        Assert.Equal("local", report.Relay);

        var text = _bed.MailboxText("alice");
        Assert.Matches(@"^From sender@example\.org  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n"
            + @"Return-Path: <sender@example\.org>\nX-Original-To: alice@mx\.test\nDelivered-To: alice@mx\.test\nSubject: test\n", text);
        Assert.EndsWith("\n>From here on\nbody\n\n", text);
        var path = Path.Combine(_bed.Spool, "alice");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        if (UnixFile.IsRoot) Assert.Equal(_bed.User("alice").Uid, Owner(path));
    }

    [Fact]
    public async Task HomeMaildirIsCreatedAndOwnedByTheRecipient()
    {
        var report = await _bed.SendAsync("home_mailbox = Maildir/", Body, "bob@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Sent, "delivered to maildir"), (r.Status, r.Diagnostic));
        var md = Path.Combine(_bed.Home("bob"), "Maildir");
        var file = Assert.Single(Directory.GetFiles(Path.Combine(md, "new")));
        Assert.StartsWith("Return-Path: <sender@example.org>\nX-Original-To: bob@mx.test\nDelivered-To: bob@mx.test\n", File.ReadAllText(file));
        if (UnixFile.IsRoot)
        {
            Assert.Equal(_bed.User("bob").Uid, Owner(file));
            Assert.Equal(_bed.User("bob").Uid, Owner(md));
        }
    }

    [Fact]
    public async Task HomeMboxWhenHomeMailboxHasNoSlash()
    {
        var report = await _bed.SendAsync("home_mailbox = Mailbox", Body, "carol@mx.test");
        Assert.Equal("delivered to mailbox", Assert.Single(report.Results).Diagnostic);
        Assert.StartsWith("From sender@example.org  ", File.ReadAllText(Path.Combine(_bed.Home("carol"), "Mailbox")));
        Assert.False(File.Exists(Path.Combine(_bed.Spool, "carol")));
    }

    [Fact]
    public async Task ExtensionIsStrippedForTheMailboxButKeptInDeliveredTo()
    {
        var report = await _bed.SendAsync("recipient_delimiter = +", Body, "Alice+News@MX.test");
        Assert.Equal("delivered to mailbox", Assert.Single(report.Results).Diagnostic);
        Assert.Contains("\nDelivered-To: Alice+News@MX.test\n", _bed.MailboxText("alice"));
    }

    [Fact]
    public async Task UnknownUserBouncesFromTheLocalRecipientTable()
    {
        var report = await _bed.SendAsync("", Body, "nosuch@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Bounced, "5.1.1", "User unknown in local recipient table"), (r.Status, r.Dsn, r.Diagnostic));
    }

    [Fact]
    public async Task UnknownUserWithoutRecipientTableBouncesAsLocalDoes()
    {
        var report = await _bed.SendAsync("local_recipient_maps =", Body, "nosuch@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Bounced, "5.1.1", "unknown user: \"nosuch\""), (r.Status, r.Dsn, r.Diagnostic));
    }

    [Fact]
    public async Task PostmasterWithoutAliasIsDiscardedWithAWarning()
    {
        var report = await _bed.SendAsync("local_recipient_maps =", Body, "postmaster@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Sent, "discarded"), (r.Status, r.Diagnostic));
        const string Warning = "postfix/local[";
        Assert.True(await Infrastructure.Repo.WaitUntilAsync(() => _bed.Log.Contains("warning: 01234567890A: required alias not found: postmaster"),
            TimeSpan.FromSeconds(10)), _bed.Log);
        Assert.Contains(Warning, _bed.Log);
    }

    [Fact]
    public async Task DeliveredToLoopBounces()
    {
        var looped = "Delivered-To: someone@else.example\nDelivered-To: ALICE@mx.test\nSubject: loop\n\nbody\n";
        var report = await _bed.SendAsync("", looped, "alice@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Bounced, "5.4.6", "mail forwarding loop for alice@mx.test"), (r.Status, r.Dsn, r.Diagnostic));
        Assert.False(File.Exists(Path.Combine(_bed.Spool, "alice")));
    }

    [Fact]
    public async Task DeliveredToInTheBodyIsNotALoop()
    {
        var report = await _bed.SendAsync("", "Subject: quoted\n\nDelivered-To: alice@mx.test\n", "alice@mx.test");
        Assert.Equal(DeliveryStatus.Sent, Assert.Single(report.Results).Status);
    }

    [Fact]
    public async Task MissingSpoolDirectoryDefersWithAClearReason()
    {
        var report = await _bed.SendAsync($"mail_spool_directory = {_bed.Root}/nonexistent", Body, "alice@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.2.0"), (r.Status, r.Dsn));
        Assert.Equal($"cannot update mailbox {_bed.Root}/nonexistent/alice for user alice. unable to create lock file {_bed.Root}/nonexistent/alice.lock: No such file or directory", r.Diagnostic);
    }

    [Fact]
    public async Task MailboxOverLimitBounces()
    {
        var report = await _bed.SendAsync("mailbox_size_limit = 100\nmessage_size_limit = 100", Body + new string('x', 200) + "\n", "alice@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Bounced, "5.2.2"), (r.Status, r.Dsn));
        Assert.Equal($"cannot update mailbox {_bed.Spool}/alice for user alice. error writing message: File too large", r.Diagnostic);
        Assert.Equal(0, new FileInfo(Path.Combine(_bed.Spool, "alice")).Length);
    }

    [Fact]
    public async Task MissingHomeDirectoryDefers()
    {
        Directory.Delete(_bed.Home("carol"));
        var report = await _bed.SendAsync("", Body, "carol@mx.test");
        var r = Assert.Single(report.Results);
        Assert.Equal((DeliveryStatus.Deferred, "4.3.0"), (r.Status, r.Dsn));
        Assert.Equal($"cannot access home directory {_bed.Home("carol")}: No such file or directory", r.Diagnostic);
    }

    [Fact]
    public async Task EachRecipientOfABatchGetsItsOwnResult()
    {
        var report = await _bed.SendAsync("", Body, "alice@mx.test", "bob@mx.test", "nosuch@mx.test");
        Assert.Equal(["alice@mx.test:Sent", "bob@mx.test:Sent", "nosuch@mx.test:Bounced"],
            report.Results.Select(r => $"{r.Recipient.Address}:{r.Status}"));
        Assert.Equal([0, 1, 2], report.Results.Select(r => r.Recipient.Index));
        Assert.Single(Regex.Matches(_bed.MailboxText("alice"), "^From ", RegexOptions.Multiline));
    }

    private static int Owner(string path)
    {
        Assert.Equal(0, UnixFile.LStat(path, out var st));
        return (int)st.Uid;
    }
}
