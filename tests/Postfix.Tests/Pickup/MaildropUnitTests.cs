// sendmail/pickup building blocks without processes: the maildrop file format
// (round trip and hostile files), sendmail's input reading (line ends, the
// lone dot, mbox From_ line, size limit) and -t's header address parsing.
using System.Text;
using Xunit;
using Postfix.Core.Cleanup;
using Postfix.Core.Pickup;
using Postfix.Core.Queue;
using Postfix.Host.Commands;

namespace Postfix.Tests.Pickup;

public class MaildropUnitTests
{
    [Fact]
    public void EnvelopeRoundTrips()
    {
        var e = new MaildropEnvelope { ArrivalUnixMs = 1795890339430, Uid = 1000, Sender = "alice", EnvId = "abc123", Ret = DsnRet.Hdrs, Body = BodyType.EightBitMime };
        e.Recipients.Add(("bob@example.net", DsnNotify.Failure | DsnNotify.Delay));
        e.Recipients.Add(("\"john doe\"@example.org", DsnNotify.None));
        var bytes = MaildropFile.WriteEnvelope(e).Concat("Subject: x\r\n\r\nbody\r\n"u8.ToArray()).ToArray();
        var back = new MaildropEnvelope();
        int start = MaildropFile.Parse(bytes, back);
        Assert.Equal("Subject: x\r\n\r\nbody\r\n", Encoding.UTF8.GetString(bytes, start, bytes.Length - start));
        Assert.Equal(1795890339430, back.ArrivalUnixMs);
        Assert.Equal(1000, back.Uid);
        Assert.Equal("alice", back.Sender);
        Assert.Equal("abc123", back.EnvId);
        Assert.Equal(DsnRet.Hdrs, back.Ret);
        Assert.Equal(BodyType.EightBitMime, back.Body);
        Assert.Equal(e.Recipients, back.Recipients);
    }

    [Fact]
    public void NullSenderRoundTrips()
    {
        var e = new MaildropEnvelope { Sender = "" };
        e.Recipients.Add(("a@b", DsnNotify.None));
        var back = new MaildropEnvelope();
        MaildropFile.Parse(MaildropFile.WriteEnvelope(e), back);
        Assert.Equal("", back.Sender);
    }

    [Theory]
    [InlineData("")]
    [InlineData("PFMD2\nF a\nR 0 b\nM\n")]
    [InlineData("PFMD1\nF a\nR 0 b\n")]                 // no M: truncated
    [InlineData("PFMD1\nF a\nM\n")]                     // no recipients
    [InlineData("PFMD1\nR 0 b\nM\n")]                   // no sender
    [InlineData("PFMD1\nF a\nR 99 b\nM\n")]             // bad notify bits
    [InlineData("PFMD1\nF a\nR 0\nM\n")]                // recipient without address
    [InlineData("PFMD1\nF a\nR x b\nM\n")]
    [InlineData("PFMD1\nF a\nQ 1\nR 0 b\nM\n")]         // unknown record
    [InlineData("PFMD1\nF a\rb\nR 0 b\nM\n")]           // CR inside a field
    [InlineData("PFMD1\nF a\0\nR 0 b\nM\n")]            // NUL inside a field
    [InlineData("PFMD1\nT 12a\nF a\nR 0 b\nM\n")]
    [InlineData("PFMD1\nF a\nX Q\nR 0 b\nM\n")]
    [InlineData("PFMD1\nF a\nB 9\nR 0 b\nM\n")]
    [InlineData("PFMD1\nFa\nR 0 b\nM\n")]
    public void HostileMaildropFilesAreRejectedNotHalfParsed(string text)
    {
        Assert.Throws<MaildropFormatException>(() => MaildropFile.Parse(Encoding.UTF8.GetBytes(text), new MaildropEnvelope()));
    }

    [Fact]
    public void InvalidUtf8InEnvelopeIsRejected()
    {
        var bytes = "PFMD1\nF "u8.ToArray().Concat(new byte[] { 0xC3, 0x28 }).Concat("\nR 0 b\nM\n"u8.ToArray()).ToArray();
        Assert.Throws<MaildropFormatException>(() => MaildropFile.Parse(bytes, new MaildropEnvelope()));
    }

    [Fact]
    public void OverlongFieldIsRejected()
    {
        var text = "PFMD1\nF " + new string('a', MaildropFile.MaxAddressLength + 1) + "\nR 0 b\nM\n";
        Assert.Throws<MaildropFormatException>(() => MaildropFile.Parse(Encoding.UTF8.GetBytes(text), new MaildropEnvelope()));
    }

    [Fact]
    public void WriterRefusesAddressesWithLineBreaks()
    {
        var e = new MaildropEnvelope { Sender = "a" };
        e.Recipients.Add(("b@x\nR 0 evil@y", DsnNotify.None));
        Assert.Throws<MaildropFormatException>(() => MaildropFile.WriteEnvelope(e));
    }

    [Fact]
    public void PublishLeavesOnlyTheFinalFile()
    {
        var dir = Path.Combine(Path.GetTempPath(), "md-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var e = new MaildropEnvelope { Sender = "a", ArrivalUnixMs = 5 };
            e.Recipients.Add(("b@x", DsnNotify.None));
            var path = MaildropFile.Publish(dir, e, s => s.Write("hi\r\n"u8));
            Assert.Equal([path], Directory.GetFiles(dir));
            Assert.False(Path.GetFileName(path).StartsWith('.'));
        }
        finally { Directory.Delete(dir, true); }
    }

    private static async Task<(bool Ok, string Text)> Read(string input, bool ignoreDots = false, long limit = 1 << 20)
    {
        var dest = new MemoryStream();
        bool ok = await SendmailCommand.ReadMessageAsync(new MemoryStream(Encoding.UTF8.GetBytes(input)), dest, ignoreDots, limit);
        return (ok, Encoding.UTF8.GetString(dest.ToArray()));
    }

    [Fact]
    public async Task LineEndsBecomeCrlf()
    {
        Assert.Equal("a\r\nb\r\nc\r\n", (await Read("a\nb\r\nc")).Text);
    }

    [Fact]
    public async Task LoneDotEndsInputUnlessIgnoreDots()
    {
        Assert.Equal("a\r\n", (await Read("a\n.\nb\n")).Text);
        Assert.Equal("a\r\n.\r\nb\r\n", (await Read("a\n.\nb\n", ignoreDots: true)).Text);
        Assert.Equal("a\r\n..\r\n.b\r\n", (await Read("a\n..\n.b\n")).Text); // no unstuffing: this is not SMTP
    }

    [Fact]
    public async Task LeadingMboxFromLineIsDropped()
    {
        Assert.Equal("Subject: x\r\n\r\nFrom here\r\n", (await Read("From alice Sat Nov 28 10:00:00 2026\nSubject: x\n\nFrom here\n")).Text);
    }

    [Fact]
    public async Task SizeLimitIsEnforcedWhileReading()
    {
        Assert.False((await Read(new string('x', 5000) + "\n", limit: 1000)).Ok);
        Assert.False((await Read(new string('x', 5000), limit: 1000)).Ok); // no newline at all
        Assert.True((await Read("short\n", limit: 1000)).Ok);
    }

    [Theory]
    [InlineData("bob@example.net", "bob@example.net")]
    [InlineData("Bob <bob@example.net>", "bob@example.net")]
    [InlineData("\"Doe, John\" <john@example.net>, carol@example.org", "john@example.net|carol@example.org")]
    [InlineData("bob@example.net (Bob Smith), <c@x>", "bob@example.net|c@x")]
    [InlineData("undisclosed-recipients:;", "")]
    [InlineData("team: a@x, b@y;, c@z", "a@x|b@y|c@z")]
    [InlineData("Bob (comment (nested)) <b@x>", "b@x")]
    [InlineData("\"quoted local\"@example.com", "\"quoted local\"@example.com")]
    [InlineData("just a phrase", "")]
    [InlineData("", "")]
    [InlineData("a@x,,, ,b@y", "a@x|b@y")]
    public void AddressListParsing(string text, string expected)
    {
        Assert.Equal(expected.Length == 0 ? [] : expected.Split('|'), AddressList.Parse(text));
    }

    [Fact]
    public void RecipientHeadersUnfoldAndRemoveBcc()
    {
        var msg = Encoding.UTF8.GetBytes("To: a@x,\r\n\tb@y\r\nCc: c@z\r\nBcc: hidden@w,\r\n  hidden2@w\r\nSubject: s\r\n\r\nBcc: body@not\r\n");
        Postfix.Core.Bounce.HeaderSection.Find(msg, out int end);
        Assert.Equal(["a@x", "b@y", "c@z", "hidden@w", "hidden2@w"], RecipientHeaders.Extract(msg, end));
        var without = Encoding.UTF8.GetString(RecipientHeaders.WithoutBcc(msg, msg.Length, end));
        Assert.Equal("To: a@x,\r\n\tb@y\r\nCc: c@z\r\nSubject: s\r\n\r\nBcc: body@not\r\n", without);
    }

    [Fact]
    public void ResentHeadersTakePrecedence()
    {
        var msg = Encoding.UTF8.GetBytes("To: orig@x\r\nResent-To: new@y\r\nResent-Bcc: rb@z\r\n\r\n");
        Postfix.Core.Bounce.HeaderSection.Find(msg, out int end);
        Assert.Equal(["new@y", "rb@z"], RecipientHeaders.Extract(msg, end));
    }
}
