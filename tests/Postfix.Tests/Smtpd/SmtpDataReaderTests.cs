// Tests for SmtpDataReader (RFC 5321 4.5.2 transparency, 4.1.1.4 end of data):
// dot-unstuffing, the end of data only at <CR><LF>.<CR><LF>, identical results
// whatever the chunking (every split point, byte by byte), SMTP smuggling
// variants with smtpd_forbid_bare_newline on and off, and message_size_limit
// enforced while the rest of the data is still read to its end.
using System.Text;
using Postfix.Core.Util;
using Postfix.Protocols.Smtpd;
using Xunit;

namespace Postfix.Tests.Smtpd;

public sealed class SmtpDataReaderTests
{
    private sealed record Outcome(DataStatus Status, string Output, int Consumed, long Size, bool TooBig);

    [Theory]
    [InlineData("..x\r\n.\r\n", ".x\r\n")]
    [InlineData("line\r\n..\r\n.\r\n", "line\r\n.\r\n")]
    [InlineData("...\r\n.\r\n", "..\r\n")]
    [InlineData("a\r\n..b\r\n...c\r\n.\r\n", "a\r\n.b\r\n..c\r\n")]
    [InlineData("x.y\r\n a.\r\n.\r\n", "x.y\r\n a.\r\n")]
    [InlineData(".\r\n", "")]
    [InlineData("\r\n.\r\n", "\r\n")]
    public void DotStuffingIsRemoved(string wire, string content)
    {
        var r = Run(Bytes(wire), [wire.Length], limit: 0, forbidBareNewline: true);
        Assert.Equal(DataStatus.Done, r.Status);
        Assert.Equal(content, r.Output);
        Assert.Equal(wire.Length, r.Consumed);
        Assert.Equal(content.Length, r.Size);
    }

    [Fact]
    public void DataEndsAtCrLfDotCrLfAndLeavesTheRestUnconsumed()
    {
        const string body = "Subject: t\r\n\r\nhello\r\n";
        var wire = Bytes(body + ".\r\nQUIT\r\n");
        var r = Run(wire, [wire.Length], limit: 0, forbidBareNewline: true);
        Assert.Equal(DataStatus.Done, r.Status);
        Assert.Equal(body, r.Output);
        Assert.Equal(body.Length + 3, r.Consumed);
    }

    [Theory]
    [InlineData("hello\r\n.x\r\n")]
    [InlineData("hello\r\n. \r\n")]
    [InlineData("hello\r\n..\r\n")]
    [InlineData("hello.\r\n")]
    [InlineData("hello\r\n.")]
    [InlineData("hello\r\n.\r")]
    public void NothingButCrLfDotCrLfEndsData(string wire)
    {
        var input = Bytes(wire);
        var r = Run(input, [input.Length], limit: 0, forbidBareNewline: true);
        Assert.Equal(DataStatus.NeedMore, r.Status);
        Assert.Equal(input.Length, r.Consumed);
    }

    public static TheoryData<string> Messages => new()
    {
        "Subject: t\r\n\r\nhello\r\n..dot\r\n.\r\nQUIT\r\n",
        "..\r\n...\r\n.x\r\n\r\n\r\n.\r\n",
        "a\r\n.\r\n",
        ".\r\n",
        "line one\r\n.. two\r\nthree.\r\n.\r\nMAIL FROM:<a@b>\r\n",
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void EverySplitPointAndByteByByteGiveIdenticalResults(string wire)
    {
        var input = Bytes(wire);
        var whole = Run(input, [input.Length], limit: 0, forbidBareNewline: true);
        Assert.Equal(DataStatus.Done, whole.Status);
        for (int at = 0; at <= input.Length; at++)
        {
            var split = Run(input, [at, input.Length - at], limit: 0, forbidBareNewline: true);
            Assert.Equal(whole, split);
        }
        var byteByByte = Run(input, Enumerable.Repeat(1, input.Length), limit: 0, forbidBareNewline: true);
        Assert.Equal(whole, byteByByte);
    }

    [Theory]
    [InlineData("\n.\n", DataStatus.BareLf)]
    [InlineData("\r.\r", DataStatus.BareCr)]
    [InlineData("\n.\r\n", DataStatus.BareLf)]
    [InlineData("\r\n.\n", DataStatus.BareLf)]
    [InlineData("\r\n.\rX", DataStatus.BareCr)]
    public void SmugglingVariantsAreRejectedWhenBareNewlinesAreForbidden(string variant, DataStatus expected)
    {
        var input = Bytes("Subject: x\r\n\r\nhello" + variant + "MAIL FROM:<evil@x>\r\n\r\n.\r\n");
        for (int at = 0; at <= input.Length; at++)
        {
            var r = Run(input, [at, input.Length - at], limit: 0, forbidBareNewline: true);
            Assert.Equal(expected, r.Status);
            Assert.DoesNotContain("evil", r.Output);
        }
    }

    [Theory]
    [InlineData("\n.\n")]
    [InlineData("\r.\r")]
    [InlineData("\r\n.\n")]
    [InlineData("\r.\r\n")]
    public void SmugglingVariantsNeverEndDataWhenBareNewlinesAreAllowed(string variant)
    {
        var input = Bytes("Subject: x\r\n\r\nhello" + variant + "MAIL FROM:<evil@x>\r\n.\r\n");
        for (int at = 0; at <= input.Length; at++)
        {
            var r = Run(input, [at, input.Length - at], limit: 0, forbidBareNewline: false);
            Assert.Equal(DataStatus.Done, r.Status);
            Assert.Equal(input.Length, r.Consumed);
            Assert.Contains("MAIL FROM:<evil@x>\r\n", r.Output);
        }
    }

    [Theory]
    [InlineData("a\nb\r\n.\r\n", DataStatus.BareLf)]
    [InlineData("a\rb\r\n.\r\n", DataStatus.BareCr)]
    [InlineData("ab\r\r\n.\r\n", DataStatus.BareCr)]
    [InlineData("\nb\r\n.\r\n", DataStatus.BareLf)]
    public void BareNewlineInsideALineIsAnErrorWhenForbidden(string wire, DataStatus expected)
    {
        var input = Bytes(wire);
        for (int at = 0; at <= input.Length; at++)
            Assert.Equal(expected, Run(input, [at, input.Length - at], limit: 0, forbidBareNewline: true).Status);
    }

    [Theory]
    [InlineData("a\nb\r\n.\r\n", "a\r\nb\r\n")]
    [InlineData("a\rb\r\n.\r\n", "a\rb\r\n")]
    [InlineData("a\n\nb\r\n.\r\n", "a\r\n\r\nb\r\n")]
    [InlineData("a\r\r\nb\r\n.\r\n", "a\r\r\nb\r\n")]
    public void BareNewlineInsideALineIsDataWhenAllowed(string wire, string content)
    {
        var input = Bytes(wire);
        for (int at = 0; at <= input.Length; at++)
        {
            var r = Run(input, [at, input.Length - at], limit: 0, forbidBareNewline: false);
            Assert.Equal(DataStatus.Done, r.Status);
            Assert.Equal(content, r.Output);
            Assert.Equal(input.Length, r.Consumed);
        }
    }

    [Fact]
    public void OversizedDataSetsTooBigButIsReadToTheEnd()
    {
        var body = string.Concat(Enumerable.Repeat("0123456789012345678901234567890123456789\r\n", 10)); // 420 bytes
        var input = Bytes(body + ".\r\nQUIT\r\n");
        foreach (int chunk in new[] { 1, 7, 64, input.Length })
        {
            var r = Run(input, Chunks(input.Length, chunk), limit: 100, forbidBareNewline: true);
            Assert.Equal(DataStatus.Done, r.Status);
            Assert.True(r.TooBig);
            Assert.Equal(body.Length, r.Size);
            Assert.Equal(body.Length + 3, r.Consumed);
            Assert.True(r.Output.Length <= 100, $"kept {r.Output.Length} bytes past a 100-byte limit");
        }
    }

    [Fact]
    public void DataOfExactlyTheLimitIsNotTooBig()
    {
        var body = new string('x', 98) + "\r\n";
        var r = Run(Bytes(body + ".\r\n"), [body.Length + 3], limit: 100, forbidBareNewline: true);
        Assert.Equal(DataStatus.Done, r.Status);
        Assert.False(r.TooBig);
        Assert.Equal(body, r.Output);

        var over = "x" + body;
        r = Run(Bytes(over + ".\r\n"), [over.Length + 3], limit: 100, forbidBareNewline: true);
        Assert.Equal(DataStatus.Done, r.Status);
        Assert.True(r.TooBig);
    }

    [Fact]
    public void FullOutputBufferCountsAsTooBig()
    {
        var body = string.Concat(Enumerable.Repeat("0123456789\r\n", 20));
        var input = Bytes(body + ".\r\n");
        using var output = new PooledBuffer(16, maxSize: 50);
        var reader = new SmtpDataReader(limit: 10_000, forbidBareNewline: true);
        Assert.Equal(DataStatus.Done, reader.Process(input, output, out int consumed));
        Assert.Equal(input.Length, consumed);
        Assert.True(reader.TooBig);
        Assert.True(output.Length <= 50);
    }

    private static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    private static IEnumerable<int> Chunks(int total, int size)
    {
        for (int i = 0; i < total; i += size) yield return Math.Min(size, total - i);
    }

    /// <summary>Feeds <paramref name="input"/> in chunks of the given sizes until the reader stops needing more.</summary>
    private static Outcome Run(byte[] input, IEnumerable<int> chunkSizes, long limit, bool forbidBareNewline)
    {
        using var output = new PooledBuffer(64);
        var reader = new SmtpDataReader(limit, forbidBareNewline);
        var status = DataStatus.NeedMore;
        int offset = 0;
        foreach (int size in chunkSizes)
        {
            var chunk = input.AsSpan(offset, size);
            status = reader.Process(chunk, output, out int consumed);
            Assert.InRange(consumed, 0, size);
            offset += consumed;
            if (status != DataStatus.NeedMore) break;
            Assert.Equal(size, consumed); // NeedMore always takes the whole chunk
        }
        return new Outcome(status, Encoding.Latin1.GetString(output.Span), offset, reader.Size, reader.TooBig);
    }
}
