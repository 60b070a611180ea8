// virtual(8) against temp directories: virtual_mailbox_maps key order
// (user+ext@domain, user@domain, @domain), Maildir and mbox results under
// virtual_mailbox_base, uid/gid from virtual_uid_maps/virtual_gid_maps (as
// root), virtual_minimum_uid, virtual_mailbox_limit, unknown recipients and
// the Delivered-To loop check.
using System.Text;
using Postfix.Core.Config;
using Postfix.Core.Delivery;
using Postfix.Core.Logging;
using Postfix.Core.Util;
using Postfix.Core.Virtual;
using Postfix.Tests.LocalDelivery;
using Xunit;

namespace Postfix.Tests.VirtualDelivery;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VirtualDeliveryTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("virtual-test-").FullName;
    private const string Body = "Subject: virtual\n\nFrom me\nhi\n";

    public VirtualDeliveryTests()
    {
        File.SetUnixFileMode(_base, (UnixFileMode)0b111_101_101);
        // As an operator does for a vmail user: the base belongs to the mapped uid/gid.
        LocalTestBed.Chown(_base, 5000, 5001);
    }

    public void Dispose()
    {
        try { Directory.Delete(_base, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private VirtualDeliveryAgent Agent(string extra = "")
    {
        var maps = Path.Combine(_base, "vmailbox");
        File.WriteAllLines(maps,
        [
            "alice@virt.test    virt.test/alice/",
            "bob@virt.test      virt.test/bob.mbox",
            "carol+ext@virt.test virt.test/carol-ext/",
            "carol@virt.test    virt.test/carol/",
            "@catchall.test     catchall.test/all/",
        ]);
        var main = MainCf.Parse($"""
            myhostname = mx.test
            recipient_delimiter = +
            virtual_mailbox_base = {_base}
            virtual_mailbox_maps = texthash:{maps}
            virtual_uid_maps = static:5000
            virtual_gid_maps = static:5001
            deliver_lock_attempts = 2
            {extra}
            """);
        return new VirtualDeliveryAgent(VirtualSettings.From(main, MailSettings.From(main)), Maillog.Null);
    }

    private static async Task<RecipientResult> DeliverAsync(VirtualDeliveryAgent agent, string rcpt, string body = Body)
    {
        var m = LocalTestBed.Message("sender@example.org", [rcpt], body);
        var report = await LocalTestBed.DeliverAsync(agent, m, "virtual");
        Assert.Equal("virtual", report.Relay);
        return Assert.Single(report.Results);
    }

    private string[] Maildir(string rel) => Directory.GetFiles(Path.Combine(_base, rel, "new"));

    [Fact]
    public async Task MaildirDeliveryWithPostfixHeadersOwnedByTheMappedUid()
    {
        var r = await DeliverAsync(Agent(), "Alice@Virt.Test");
        Assert.Equal((DeliveryStatus.Sent, "2.0.0", "delivered to maildir"), (r.Status, r.Dsn, r.Diagnostic));
        var file = Assert.Single(Maildir("virt.test/alice"));
        var text = File.ReadAllText(file);
        Assert.Equal("Return-Path: <sender@example.org>\nX-Original-To: Alice@Virt.Test\nDelivered-To: Alice@Virt.Test\nSubject: virtual\n\nFrom me\nhi\n", text);
        if (UnixFile.IsRoot)
        {
            Assert.Equal(0, UnixFile.LStat(file, out var st));
            Assert.Equal((5000u, 5001u), (st.Uid, st.Gid));
        }
    }

    [Fact]
    public async Task MboxDeliveryQuotesFromLines()
    {
        Directory.CreateDirectory(Path.Combine(_base, "virt.test"));
        LocalTestBed.Chown(_base, 5000, 5001);
        var r = await DeliverAsync(Agent(), "bob@virt.test");
        Assert.Equal((DeliveryStatus.Sent, "delivered to mailbox"), (r.Status, r.Diagnostic));
        var text = File.ReadAllText(Path.Combine(_base, "virt.test/bob.mbox"));
        Assert.StartsWith("From sender@example.org  ", text);
        Assert.EndsWith("\nDelivered-To: bob@virt.test\nSubject: virtual\n\n>From me\nhi\n\n", text);
    }

    [Theory]
    [InlineData("carol+ext@virt.test", "virt.test/carol-ext")]
    [InlineData("carol+other@virt.test", "virt.test/carol")]
    [InlineData("carol@virt.test", "virt.test/carol")]
    [InlineData("anyone@catchall.test", "catchall.test/all")]
    public async Task MailboxMapsAreSearchedInVirtualOrder(string rcpt, string maildir)
    {
        var r = await DeliverAsync(Agent(), rcpt);
        Assert.True(r.Status == DeliveryStatus.Sent, r.Diagnostic);
        Assert.Single(Maildir(maildir));
    }

    [Fact]
    public async Task UnknownRecipientBounces()
    {
        var r = await DeliverAsync(Agent(), "nobody@virt.test");
        Assert.Equal((DeliveryStatus.Bounced, "5.1.1", "User unknown in virtual mailbox table"), (r.Status, r.Dsn, r.Diagnostic));
    }

    [Fact]
    public async Task MailboxOverLimitBouncesAndMaildirStaysEmpty()
    {
        var r = await DeliverAsync(Agent("virtual_mailbox_limit = 60\nmessage_size_limit = 60"), "alice@virt.test", Body + new string('x', 100) + "\n");
        Assert.Equal((DeliveryStatus.Bounced, "5.2.2"), (r.Status, r.Dsn));
        Assert.StartsWith($"delivery failed to maildir {_base}/virt.test/alice/: create maildir file", r.Diagnostic);
        Assert.EndsWith("File too large", r.Diagnostic);
        Assert.Empty(Maildir("virt.test/alice"));
    }

    [Fact]
    public async Task MboxInMissingDirectoryDefers()
    {
        var r = await DeliverAsync(Agent("virtual_mailbox_lock = fcntl"), "bob@virt.test");
        Assert.Equal((DeliveryStatus.Deferred, "4.2.0"), (r.Status, r.Dsn));
        Assert.Equal($"delivery failed to mailbox {_base}/virt.test/bob.mbox: cannot open file: No such file or directory", r.Diagnostic);
    }

    [Fact]
    public async Task UidBelowMinimumDefersAsRoot()
    {
        if (!UnixFile.IsRoot) return; // without root the uid maps are not used
        var r = await DeliverAsync(Agent("virtual_uid_maps = static:50"), "alice@virt.test");
        Assert.Equal((DeliveryStatus.Deferred, "4.3.5", "mail system configuration error"), (r.Status, r.Dsn, r.Diagnostic));
        r = await DeliverAsync(Agent("virtual_uid_maps ="), "alice@virt.test");
        Assert.Equal((DeliveryStatus.Deferred, "4.3.5"), (r.Status, r.Dsn));
        Assert.False(Directory.Exists(Path.Combine(_base, "virt.test/alice")));
    }

    [Fact]
    public async Task DeliveredToLoopBounces()
    {
        var r = await DeliverAsync(Agent(), "alice@virt.test", "Delivered-To: alice@virt.test\nSubject: again\n\nx\n");
        Assert.Equal((DeliveryStatus.Bounced, "5.4.6", "mail forwarding loop for alice@virt.test"), (r.Status, r.Dsn, r.Diagnostic));
    }

    [Fact]
    public async Task SameRecipientTwiceInOneRequestIsDeliveredOnce()
    {
        var m = LocalTestBed.Message("sender@example.org", ["alice@virt.test", "ALICE@virt.test"], Body);
        var report = await LocalTestBed.DeliverAsync(Agent(), m, "virtual");
        Assert.Equal(2, report.Results.Count);
        Assert.Single(Maildir("virt.test/alice"));
    }
}
