// Tests for QmqpPacketReader (qmqpd(8)'s parser): the same result whatever
// the chunking (every split point, byte by byte), every proper prefix asks for
// more, LF stored as CRLF, and every malformed or oversized packet refused with
// the error and "while receiving ..." part Postfix would report.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Postfix.Core.Cleanup;
using Postfix.Protocols.Qmqpd;
using Postfix.Tests.Smtpd;
using Xunit;
using static Postfix.Tests.Qmqp.QmqpPacket;

namespace Postfix.Tests.Qmqp;

public sealed class QmqpPacketReaderTests
{
    private sealed record Outcome(QmqpStatus Status, QmqpError Error, QmqpPart Where, string Content, string Sender,
        string[] Recipients, bool SmtpUtf8, int Unconsumed, byte Verp);

    private static readonly byte[] Good = Build("Subject: hi\nTo: b@example.net\n\nline one\nline two\n",
        "a@example.org", "b@example.net", "c@example.net");

    /// <summary>Feeds <paramref name="wire"/> in chunks, each read adding one segment after what is still unconsumed (as a PipeReader would).</summary>
    private static Outcome Run(byte[] wire, IEnumerable<int>? chunks = null, long limit = 10_240_000, int addressLimit = 2048)
    {
        var packet = new QmqpPacketReader(limit, addressLimit);
        using var msg = new MessageBuilder(limit) { ContentLimit = 2 * limit + 64 * 1024 };
        var scratch = new byte[addressLimit];
        byte[] pending = [];
        int offset = 0;
        var status = QmqpStatus.NeedMore;
        foreach (int size in chunks ?? [wire.Length])
        {
            int n = Math.Min(size, wire.Length - offset);
            var seq = BufferSegment.Sequence(pending, wire[offset..(offset + n)]);
            offset += n;
            var reader = new SequenceReader<byte>(seq);
            status = packet.Process(ref reader, msg, scratch);
            pending = seq.Slice(reader.Position).ToArray();
            if (status != QmqpStatus.NeedMore || offset == wire.Length) break;
        }
        return new Outcome(status, packet.Error, packet.Where, Encoding.UTF8.GetString(msg.Content.Span), msg.SenderString(),
            Recipients(msg), msg.SmtpUtf8, pending.Length + wire.Length - offset, packet.VerpDelimiter);
    }

    private static string[] Recipients(MessageBuilder msg)
    {
        var list = new List<string>();
        var block = msg.RecipientBlock;
        while (!block.IsEmpty)
        {
            int len = BinaryPrimitives.ReadUInt16LittleEndian(block);
            list.Add(Encoding.UTF8.GetString(block.Slice(2, len)));
            block = block[(2 + len)..];
            int orcpt = BinaryPrimitives.ReadUInt16LittleEndian(block);
            block = block[(2 + orcpt + 1)..];
        }
        return [.. list];
    }

    private static void AssertGood(Outcome r)
    {
        Assert.Equal(QmqpStatus.Done, r.Status);
        Assert.Equal(QmqpError.None, r.Error);
        Assert.Equal("Subject: hi\r\nTo: b@example.net\r\n\r\nline one\r\nline two\r\n", r.Content);
        Assert.Equal("a@example.org", r.Sender);
        Assert.Equal(["b@example.net", "c@example.net"], r.Recipients);
        Assert.Equal(0, r.Unconsumed);
    }

    [Fact]
    public void WholePacketParses() => AssertGood(Run(Good));

    [Fact]
    public void EverySplitPointGivesTheSameResult()
    {
        for (int at = 0; at <= Good.Length; at++)
            AssertGood(Run(Good, [at, Good.Length - at]));
    }

    [Fact]
    public void ByteByByteGivesTheSameResult() =>
        AssertGood(Run(Good, Enumerable.Repeat(1, Good.Length)));

    [Fact]
    public void EveryProperPrefixNeedsMore()
    {
        for (int n = 0; n < Good.Length; n++)
        {
            var r = Run(Good[..n]);
            Assert.True(r.Status == QmqpStatus.NeedMore, $"prefix of {n} bytes: {r.Status} {r.Error}");
        }
    }

    [Fact]
    public void BytesAfterThePacketAreLeftUnconsumed()
    {
        var r = Run([.. Good, .. Bytes("junk")]);
        Assert.Equal(QmqpStatus.Done, r.Status);
        Assert.Equal(4, r.Unconsumed);
    }

    [Theory]
    [InlineData("a\r\nb\n", "a\r\nb\r\n")]        // CRLF already: not doubled
    [InlineData("a\rb\n", "a\rb\r\n")]            // bare CR is data
    [InlineData("no newline at end", "no newline at end\r\n")]
    [InlineData("", "")]
    [InlineData("\n\n", "\r\n\r\n")]
    public void LineEndsAreStoredAsCrLf(string message, string stored)
    {
        var wire = Build(message, "a@example.org", "b@example.net");
        for (int at = 0; at <= wire.Length; at++)
        {
            var r = Run(wire, [at, wire.Length - at]);
            Assert.Equal(QmqpStatus.Done, r.Status);
            Assert.Equal(stored, r.Content);
        }
    }

    [Fact]
    public void EmptySenderIsTheNullSender()
    {
        var r = Run(Build("x\n", "", "b@example.net"));
        Assert.Equal(QmqpStatus.Done, r.Status);
        Assert.Equal("", r.Sender);
    }

    [Fact]
    public void NoRecipientsIsAWellFormedPacket()
    {
        // qmqpd answers "Error: no recipients specified"; the parser only reports what came.
        var r = Run(Build("x\n", "a@example.org"));
        Assert.Equal(QmqpStatus.Done, r.Status);
        Assert.Empty(r.Recipients);
    }

    [Fact]
    public void Utf8AddressesMarkTheMessageSmtpUtf8()
    {
        var r = Run(Build("x\n", "a@example.org", "bjørn@exämple.net"));
        Assert.Equal(QmqpStatus.Done, r.Status);
        Assert.Equal(["bjørn@exämple.net"], r.Recipients);
        Assert.True(r.SmtpUtf8);
    }

    [Theory]
    [InlineData("list-@example.org-@[]", "list@example.org")]
    [InlineData("list=@example.org-@[]", "list@example.org")]
    [InlineData("owner@example.org", "owner@example.org")]       // not a VERP request
    [InlineData("-@example.org-@[]", "-@example.org-@[]")]       // null prefix: not a VERP request
    public void VerpRequestIsStrippedToThePlainSender(string sender, string stored)
    {
        var r = Run(Build("x\n", sender, "b@example.net"));
        Assert.Equal(QmqpStatus.Done, r.Status);
        Assert.Equal(stored, r.Sender);
    }

    [Fact]
    public void VerpRequestWithABadDelimiterIsRefused()
    {
        var r = Run(Build("x\n", "list/@example.org-@[]", "b@example.net"));
        Assert.Equal(QmqpError.BadVerp, r.Error);
        Assert.Equal((byte)'/', r.Verp);
    }

    public static TheoryData<string, byte[], QmqpError, QmqpPart> Malformed() => new()
    {
        { "letter in the packet length", Bytes("1x:"), QmqpError.Format, QmqpPart.PacketHeader },
        { "no digits", Bytes(":"), QmqpError.Format, QmqpPart.PacketHeader },
        { "space before colon", Bytes("12 :"), QmqpError.Format, QmqpPart.PacketHeader },
        { "eleven digits", Bytes("12345678901:"), QmqpError.TooLong, QmqpPart.PacketHeader },
        { "leading zeros past the digit limit", Bytes("00000000001"), QmqpError.TooLong, QmqpPart.PacketHeader },
        { "letter in the message length", Bytes("20:1y:"), QmqpError.Format, QmqpPart.Content },
        { "message longer than message_size_limit", Bytes("99999999:99999999:"), QmqpError.TooLong, QmqpPart.Content },
        { "message longer than the packet", Bytes("5:10:"), QmqpError.Format, QmqpPart.Content },
        { "no comma after the message", Bytes("30:3:abc;"), QmqpError.Format, QmqpPart.Content },
        { "no comma after the sender", Bytes("30:3:abc,3:a@b;"), QmqpError.Format, QmqpPart.Sender },
        { "sender longer than line_length_limit", Bytes("9000:3:abc,3000:"), QmqpError.TooLong, QmqpPart.Sender },
        { "letter in a recipient length", Bytes("30:3:abc,3:a@b,1q:"), QmqpError.Format, QmqpPart.Recipient },
        { "no comma after a recipient", Bytes("30:3:abc,3:a@b,3:c@d."), QmqpError.Format, QmqpPart.Recipient },
        { "packet shorter than declared", Bytes("30:3:abc,3:a@b,3:c@d,,"), QmqpError.Format, QmqpPart.Recipient },
        { "packet longer than declared", Bytes("10:3:abc,3:a@b,3:c@d,,"), QmqpError.Format, QmqpPart.Recipient },
        { "empty recipient", Bytes("14:3:abc,3:a@b,0:,,"), QmqpError.BadRecipient, QmqpPart.Recipient },
        { "CR LF in a recipient", Bytes("20:3:abc,3:a@b,6:c\r\nX:d,,"), QmqpError.BadRecipient, QmqpPart.Recipient },
        { "NUL in the sender", Bytes("17:3:abc,3:a\0b,3:c@d,,"), QmqpError.BadSender, QmqpPart.Sender },
        { "malformed UTF-8 in the sender", [.. Bytes("17:3:abc,3:a"), 0xC3, .. Bytes("b,3:c@d,,")], QmqpError.BadSender, QmqpPart.Sender },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedPacketsAreRefusedWithTheirPart(string what, byte[] wire, QmqpError error, QmqpPart where)
    {
        // Same verdict whatever the chunking.
        foreach (var chunks in new[] { new[] { wire.Length }, Enumerable.Repeat(1, wire.Length).ToArray() })
        {
            var r = Run(wire, chunks);
            Assert.True(r.Status == QmqpStatus.Failed, $"{what}: {r.Status}");
            Assert.Equal(error, r.Error);
            Assert.Equal(where, r.Where);
        }
    }

    [Fact]
    public void ContentPlusEnvelopeOverTheLimitIsTooLarge()
    {
        // The message alone fits (Postfix's netstring check); with the envelope it does not (cleanup's check).
        var r = Run(Build(new string('x', 90) + "\n", "a@b", "b@example.net"), limit: 100);
        Assert.Equal(QmqpStatus.Failed, r.Status);
        Assert.Equal(QmqpError.MessageTooLarge, r.Error);
        Assert.Equal(QmqpPart.Recipient, r.Where);
    }

    [Fact]
    public void MessageExactlyAtTheLimitIsAccepted()
    {
        var r = Run(Build(new string('x', 79) + "\n", "a@b", "c@d"), limit: 86);
        Assert.Equal(QmqpStatus.Done, r.Status);
    }

    [Fact]
    public void StoredFormThatOutgrowsTheBufferIsTooLarge()
    {
        // Only newlines: CRLF storage doubles it; a buffer bound below that refuses.
        var packet = new QmqpPacketReader(1000, 100);
        using var msg = new MessageBuilder(1000) { ContentLimit = 1500 };
        var wire = Build(new string('\n', 1000), "a@b", "c@d");
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(wire));
        Assert.Equal(QmqpStatus.Failed, packet.Process(ref reader, msg, new byte[100]));
        Assert.Equal(QmqpError.MessageTooLarge, packet.Error);
        Assert.True(msg.ContentLength <= 1500);
    }

    [Fact]
    public void SplitAddressIsCopiedWhole()
    {
        var rcpt = new string('r', 1500) + "@example.net";
        var wire = Build("x\n", "a@example.org", rcpt);
        int start = Array.IndexOf(wire, (byte)'r');
        var r = Run(wire, [start + 700, wire.Length]);
        Assert.Equal(QmqpStatus.Done, r.Status);
        Assert.Equal([rcpt], r.Recipients);
    }
}
