// The mailbox layer shared by local(8) and virtual(8): UNIX mbox appends
// (From_ line, ">From " quoting, trailing blank line, LF ends, locking,
// truncation on failure) and Maildir files (tmp -> new, names with S=/W=,
// 0700 directories), against temp directories.
using System.Text;
using System.Text.RegularExpressions;
using Postfix.Core.Mailbox;
using Postfix.Core.Util;
using Xunit;

namespace Postfix.Tests.LocalDelivery;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MailboxFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mbox-test-").FullName;
    private static readonly MailCopyEnvelope Env = new("sender@example.org", "orig@mx.test", "final@mx.test",
        new DateTimeOffset(2024, 3, 5, 7, 8, 9, TimeSpan.Zero));
    private static readonly byte[] Content = Encoding.ASCII.GetBytes(
        "Subject: hello\r\nFrom: a@example.org\r\n\r\nFrom the start\r\n>From quoted already\r\nlast line without end");
    private static readonly MboxOptions Fast = new()
    {
        Lock = new MboxLockSettings(MboxLockKinds.Fcntl | MboxLockKinds.Dotlock, 3, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(500)),
    };

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task MboxAppendHasFromLineQuotingLfAndBlankLine()
    {
        var path = Path.Combine(_dir, "box");
        Assert.True((await MboxFile.AppendAsync(path, Content, MailCopyFlags.Mbox, Env, Fast)).Delivered);
        Assert.True((await MboxFile.AppendAsync(path, Content, MailCopyFlags.Mbox, Env with { Sender = "" }, Fast)).Delivered);
        var text = File.ReadAllText(path);
        Assert.DoesNotContain("\r", text);
        string stamp = MailCopy.AscTime(Env.Time);
        Assert.Matches(@"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$", stamp);
        string one = $"From sender@example.org  {stamp}\nReturn-Path: <sender@example.org>\nX-Original-To: orig@mx.test\n"
            + "Delivered-To: final@mx.test\nSubject: hello\nFrom: a@example.org\n\n>From the start\n>From quoted already\n"
            + "last line without end\n\n";
        string two = $"From MAILER-DAEMON  {stamp}\nReturn-Path: <>\n" + one[one.IndexOf("X-Original-To", StringComparison.Ordinal)..];
        Assert.Equal(one + two, text);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.False(File.Exists(path + ".lock"));
    }

    [Fact]
    public async Task MboxOverSizeLimitBouncesAndIsTruncatedBack()
    {
        var path = Path.Combine(_dir, "box");
        Assert.True((await MboxFile.AppendAsync(path, Content, MailCopyFlags.Mbox, Env, Fast)).Delivered);
        var before = File.ReadAllBytes(path);
        // Room for half a message: the write fails part way and the file goes back to its old length.
        var r = await MboxFile.AppendAsync(path, Content, MailCopyFlags.Mbox, Env, Fast with { SizeLimit = before.Length + 100 });
        Assert.Equal(MailboxOutcome.Bounced, r.Outcome);
        Assert.Equal("5.2.2", r.Dsn);
        Assert.Equal("error writing message: File too large", r.Reason);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task MboxInUnwritableDirectoryDefersAndLeavesNothing()
    {
        var dir = Path.Combine(_dir, "ro");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, (UnixFileMode)0b101_101_101);
        // As root, write as an unprivileged user so the permission check applies.
        var opts = UnixFile.IsRoot ? Fast with { Rights = new DeliveryRights(65534, 65534) } : Fast;
        var r = await MboxFile.AppendAsync(Path.Combine(dir, "box"), Content, MailCopyFlags.Mbox, Env, opts);
        Assert.Equal(MailboxOutcome.Deferred, r.Outcome);
        Assert.StartsWith("4.2.0", r.Dsn);
        Assert.Contains("Permission denied", r.Reason);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public async Task MboxSymlinkIsNotFollowed()
    {
        var target = Path.Combine(_dir, "target");
        File.WriteAllText(target, "precious\n");
        var link = Path.Combine(_dir, "box");
        File.CreateSymbolicLink(link, target);
        var r = await MboxFile.AppendAsync(link, Content, MailCopyFlags.Mbox, Env, Fast);
        Assert.False(r.Delivered);
        Assert.Equal("precious\n", File.ReadAllText(target));
    }

    [Fact]
    public async Task MboxDotlockHeldElsewhereDefersThenStaleLockIsBroken()
    {
        var path = Path.Combine(_dir, "box");
        File.WriteAllText(path + ".lock", "");
        var r = await MboxFile.AppendAsync(path, Content, MailCopyFlags.Mbox, Env, Fast);
        Assert.Equal(MailboxOutcome.Deferred, r.Outcome);
        Assert.Equal("4.2.0", r.Dsn);
        Assert.StartsWith($"unable to create lock file {path}.lock", r.Reason);
        Assert.False(File.Exists(path) && new FileInfo(path).Length > 0);

        // A lock older than stale_lock_time is a crashed writer's: removed, and delivery proceeds.
        File.SetLastWriteTimeUtc(path + ".lock", DateTime.UtcNow.AddHours(-1));
        Assert.True((await MboxFile.AppendAsync(path, Content, MailCopyFlags.Mbox, Env, Fast)).Delivered);
        Assert.False(File.Exists(path + ".lock"));
    }

    [Fact]
    public async Task MboxFlockHeldElsewhereDefersUntilReleased()
    {
        var path = Path.Combine(_dir, "box");
        File.WriteAllText(path, "");
        var opts = Fast with { Lock = Fast.Lock with { Kinds = MboxLockKinds.Flock } };
        // FileShare.None makes .NET take flock(LOCK_EX) on Unix: another mail reader holding the box.
        using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            var r = await MboxFile.AppendAsync(path, Content, MailCopyFlags.Mbox, Env, opts);
            Assert.Equal(MailboxOutcome.Deferred, r.Outcome);
            Assert.StartsWith("unable to lock for exclusive access", r.Reason);
        }
        Assert.Equal(0, new FileInfo(path).Length);
        Assert.True((await MboxFile.AppendAsync(path, Content, MailCopyFlags.Mbox, Env, opts)).Delivered);
    }

    [Fact]
    public async Task ConcurrentAppendsToOneMboxStayWhole()
    {
        var path = Path.Combine(_dir, "box");
        var tasks = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            var body = Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\n" + string.Concat(Enumerable.Repeat($"line {i}\r\n", 2000)));
            return await MboxFile.AppendAsync(path, body, MailCopyFlags.Mbox, Env, Fast);
        })).ToArray();
        foreach (var r in await Task.WhenAll(tasks)) Assert.True(r.Delivered, r.Reason);
        var messages = Regex.Split(File.ReadAllText(path), @"(?m)^(?=From sender@example\.org  )").Where(s => s.Length > 0).ToList();
        Assert.Equal(16, messages.Count);
        foreach (var m in messages)
        {
            int i = int.Parse(Regex.Match(m, @"Subject: (\d+)").Groups[1].Value);
            Assert.Equal(2000, Regex.Matches(m, $"^line {i}$", RegexOptions.Multiline).Count);
            Assert.Equal(2000, Regex.Matches(m, "^line ", RegexOptions.Multiline).Count);
        }
    }

    [Fact]
    public void MaildirDeliveryGoesThroughTmpIntoNewWithSizesInTheName()
    {
        var md = Path.Combine(_dir, "Maildir") + "/";
        var r = MaildirFile.Deliver(md, Content, MailCopyFlags.Maildir, Env, DeliveryRights.Process, 0, "host/with:odd");
        Assert.True(r.Delivered, r.Reason);
        foreach (var sub in new[] { "tmp", "new", "cur" })
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(md, sub)));
        Assert.Empty(Directory.GetFiles(Path.Combine(md, "tmp")));
        var file = Assert.Single(Directory.GetFiles(Path.Combine(md, "new")));
        var name = Path.GetFileName(file);
        var m = Regex.Match(name, @"^(\d+)\.M(\d+)P(\d+)Q(\d+)\.host\\057with\\072odd,S=(\d+),W=(\d+)$");
        Assert.True(m.Success, name);
        Assert.Equal(Environment.ProcessId.ToString(), m.Groups[3].Value);
        var bytes = File.ReadAllBytes(file);
        Assert.Equal(bytes.Length, long.Parse(m.Groups[5].Value));
        Assert.Equal(bytes.Length + bytes.Count(b => b == '\n'), long.Parse(m.Groups[6].Value));
        var text = Encoding.ASCII.GetString(bytes);
        Assert.StartsWith("Return-Path: <sender@example.org>\nX-Original-To: orig@mx.test\nDelivered-To: final@mx.test\nSubject: hello\n", text);
        Assert.Contains("\nFrom the start\n", text); // no quoting in a maildir
        Assert.EndsWith("last line without end\n", text);

        // A second delivery gets a different name.
        Assert.True(MaildirFile.Deliver(md, Content, MailCopyFlags.Maildir, Env, DeliveryRights.Process, 0, "h").Delivered);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(md, "new")).Length);
    }

    [Fact]
    public void MaildirOverLimitBouncesAndLeavesNoFile()
    {
        var md = Path.Combine(_dir, "Maildir") + "/";
        var r = MaildirFile.Deliver(md, Content, MailCopyFlags.Maildir, Env, DeliveryRights.Process, 50, "h");
        Assert.Equal(MailboxOutcome.Bounced, r.Outcome);
        Assert.Equal("5.2.2", r.Dsn);
        Assert.Empty(Directory.GetFiles(Path.Combine(md, "tmp")));
        Assert.Empty(Directory.GetFiles(Path.Combine(md, "new")));
    }

    [Fact]
    public void QuotedLocalPartsInEnvelopeHeaders()
    {
        Assert.Equal("\"john doe\"@example.org", MailCopy.Quote822Local("john doe@example.org"));
        Assert.Equal("a.b+c@example.org", MailCopy.Quote822Local("a.b+c@example.org"));
        Assert.Equal("Return-Path: <>\n", MailCopy.EnvelopeHeaders(MailCopyFlags.ReturnPath, Env with { Sender = "" }));
    }
}
