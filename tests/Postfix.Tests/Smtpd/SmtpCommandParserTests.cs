// Tests for SmtpCommandParser (smtpd command lines, RFC 5321 2.3.8 / 4.1.1):
// verbs recognised by bytes and case-insensitively, argument trimming, and
// TryReadLine fed every prefix and every split point of a pipelined buffer,
// with bare <LF> / bare <CR> (SMTP smuggling) and line_length_limit detection.
using System.Buffers;
using System.Text;
using Postfix.Protocols.Smtpd;
using Xunit;

namespace Postfix.Tests.Smtpd;

public sealed class SmtpCommandParserTests
{
    private const string Pipelined =
        "EHLO client.example\r\nMAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<c@d>\r\nDATA\r\n";

    private static readonly string[] PipelinedLines =
        ["EHLO client.example", "MAIL FROM:<a@b> SIZE=10", "RCPT TO:<c@d>", "DATA"];

    [Theory]
    [InlineData("mail from:<a@b>", SmtpCommand.Mail, "from:<a@b>")]
    [InlineData("MAIL FROM:<a@b>", SmtpCommand.Mail, "FROM:<a@b>")]
    [InlineData("MaIl From:<a@b>", SmtpCommand.Mail, "From:<a@b>")]
    [InlineData("rcpt to:<c@d>", SmtpCommand.Rcpt, "to:<c@d>")]
    [InlineData("ehlo client", SmtpCommand.Ehlo, "client")]
    [InlineData("HELO client", SmtpCommand.Helo, "client")]
    [InlineData("data", SmtpCommand.Data, "")]
    [InlineData("BDAT 10 LAST", SmtpCommand.Bdat, "10 LAST")]
    [InlineData("rset", SmtpCommand.Rset, "")]
    [InlineData("NOOP", SmtpCommand.Noop, "")]
    [InlineData("Quit", SmtpCommand.Quit, "")]
    [InlineData("help", SmtpCommand.Help, "")]
    [InlineData("VRFY postmaster", SmtpCommand.Vrfy, "postmaster")]
    [InlineData("expn list", SmtpCommand.Expn, "list")]
    [InlineData("ETRN example.com", SmtpCommand.Etrn, "example.com")]
    [InlineData("AUTH PLAIN", SmtpCommand.Auth, "PLAIN")]
    [InlineData("starttls", SmtpCommand.StartTls, "")]
    [InlineData("StartTLS", SmtpCommand.StartTls, "")]
    public void VerbsAreRecognisedCaseInsensitively(string line, SmtpCommand expected, string argument)
    {
        var cmd = SmtpCommandParser.Parse(Encoding.ASCII.GetBytes(line), out var arg);
        Assert.Equal(expected, cmd);
        Assert.Equal(argument, Encoding.ASCII.GetString(arg));
    }

    [Theory]
    [InlineData("")]
    [InlineData("MAI")]
    [InlineData("MAILX FROM:<a@b>")]
    [InlineData("MAIL:<a@b>")]
    [InlineData("XYZW")]
    [InlineData("STARTTLSX")]
    [InlineData("STARTTL")]
    [InlineData(" MAIL FROM:<a@b>")]
    [InlineData("GET / HTTP/1.1")]
    [InlineData("m\u00e4il x")]
    public void UnknownVerbsAreUnknown(string line)
    {
        Assert.Equal(SmtpCommand.Unknown, SmtpCommandParser.Parse(Encoding.UTF8.GetBytes(line), out _));
    }

    [Fact]
    public void NonLetterBytesDoNotAliasVerbsThroughTheCaseFold()
    {
        // The verb is folded with | 0x20: only upper case may fold onto a letter,
        // never a control byte (0x0D | 0x20 is '-', not 'm').
        byte[] line = [0x0D, (byte)'A', (byte)'I', (byte)'L'];
        Assert.Equal(SmtpCommand.Unknown, SmtpCommandParser.Parse(line, out _));
    }

    [Fact]
    public void ArgumentLeadingSpacesAreTrimmed()
    {
        Assert.Equal(SmtpCommand.Mail, SmtpCommandParser.Parse("MAIL    FROM:<a@b>  "u8, out var arg));
        Assert.Equal("FROM:<a@b>  ", Encoding.ASCII.GetString(arg));

        Assert.Equal(SmtpCommand.Noop, SmtpCommandParser.Parse("NOOP   "u8, out arg));
        Assert.True(arg.IsEmpty);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("   ", "")]
    [InlineData("  x y  ", "x y")]
    [InlineData("x", "x")]
    public void TrimRemovesSpacesOnBothEnds(string input, string expected)
    {
        Assert.Equal(expected, Encoding.ASCII.GetString(SmtpCommandParser.Trim(Encoding.ASCII.GetBytes(input))));
    }

    [Fact]
    public void PipelinedBufferYieldsEveryLineInOrder()
    {
        var (lines, status, consumed) = ReadAll(new ReadOnlySequence<byte>(Bytes(Pipelined)), 2048);
        Assert.Equal(PipelinedLines, lines);
        Assert.Equal(LineStatus.NeedMore, status);
        Assert.Equal(Pipelined.Length, consumed);
    }

    [Fact]
    public void EveryPrefixYieldsCompleteLinesAndConsumesNoPartialLine()
    {
        var input = Bytes(Pipelined);
        for (int p = 0; p <= input.Length; p++)
        {
            var (lines, status, consumed) = ReadAll(new ReadOnlySequence<byte>(input, 0, p), 2048);
            int complete = CompleteLineBytes(input.AsSpan(0, p));
            Assert.Equal(LineStatus.NeedMore, status);
            Assert.Equal(complete, consumed);
            Assert.Equal(PipelinedLines.Take(lines.Count), lines);
            Assert.Equal(input.AsSpan(0, complete).Count((byte)'\n'), lines.Count);
        }
    }

    [Fact]
    public void EverySplitPointYieldsTheSameLines()
    {
        var input = Bytes(Pipelined);
        for (int at = 0; at <= input.Length; at++)
        {
            var (lines, status, consumed) = ReadAll(BufferSegment.Split(input, at), 2048);
            Assert.Equal(PipelinedLines, lines);
            Assert.Equal(LineStatus.NeedMore, status);
            Assert.Equal(input.Length, consumed);
        }
    }

    [Fact]
    public void EveryPairOfSplitPointsYieldsTheSameLines()
    {
        var input = Bytes(Pipelined);
        for (int a = 0; a <= input.Length; a++)
        {
            for (int b = a; b <= input.Length; b++)
            {
                var seq = BufferSegment.Sequence(input[..a], input[a..b], input[b..]);
                var (lines, status, _) = ReadAll(seq, 2048);
                Assert.Equal(PipelinedLines, lines);
                Assert.Equal(LineStatus.NeedMore, status);
            }
        }
    }

    [Fact]
    public void SplitPartialLineIsNotConsumed()
    {
        var input = Bytes("NOOP\r\nMAIL FROM:<a");
        for (int at = 0; at <= input.Length; at++)
        {
            var (lines, status, consumed) = ReadAll(BufferSegment.Split(input, at), 2048);
            Assert.Equal(["NOOP"], lines);
            Assert.Equal(LineStatus.NeedMore, status);
            Assert.Equal(6, consumed);
        }
    }

    [Theory]
    [InlineData("NOOP\n", LineStatus.BareLf)]
    [InlineData("\n", LineStatus.BareLf)]
    [InlineData("MAIL FROM:<a@b>\n", LineStatus.BareLf)]
    [InlineData("NO\rOP\r\n", LineStatus.BareCr)]
    [InlineData("NOOP\r\r\n", LineStatus.BareCr)]
    [InlineData("\r\r\n", LineStatus.BareCr)]
    public void BareNewlinesAreDetectedAtEverySplitPoint(string text, LineStatus expected)
    {
        var input = Bytes(text);
        for (int at = 0; at <= input.Length; at++)
        {
            var reader = new SequenceReader<byte>(BufferSegment.Split(input, at));
            Assert.Equal(expected, SmtpCommandParser.TryReadLine(ref reader, 2048, out _));
        }
    }

    [Fact]
    public void BareLfAfterAGoodLineIsReportedOnTheSecondLine()
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("NOOP\r\nDATA\nX\r\n")));
        Assert.Equal(LineStatus.Ok, SmtpCommandParser.TryReadLine(ref reader, 2048, out var line));
        Assert.Equal("NOOP", Encoding.ASCII.GetString(line.ToArray()));
        Assert.Equal(LineStatus.BareLf, SmtpCommandParser.TryReadLine(ref reader, 2048, out _));
    }

    [Fact]
    public void EmptyLineIsOk()
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("\r\n")));
        Assert.Equal(LineStatus.Ok, SmtpCommandParser.TryReadLine(ref reader, 2048, out var line));
        Assert.True(line.IsEmpty);
    }

    [Fact]
    public void LineOfExactlyMaxLengthIsOkAndOneMoreIsTooLong()
    {
        var atLimit = Bytes(new string('x', 10) + "\r\n");
        var overLimit = Bytes(new string('x', 11) + "\r\n");
        for (int at = 0; at <= atLimit.Length; at++)
        {
            var reader = new SequenceReader<byte>(BufferSegment.Split(atLimit, at));
            Assert.Equal(LineStatus.Ok, SmtpCommandParser.TryReadLine(ref reader, 10, out var line));
            Assert.Equal(10, line.Length);
        }
        for (int at = 0; at <= overLimit.Length; at++)
        {
            var reader = new SequenceReader<byte>(BufferSegment.Split(overLimit, at));
            // The whole line is buffered, so it is consumed and reported as such.
            Assert.Equal(LineStatus.TooLongComplete, SmtpCommandParser.TryReadLine(ref reader, 10, out _));
            Assert.True(reader.End);
        }
    }

    [Fact]
    public void PartialLinePastMaxLengthIsTooLongWithoutWaitingForLf()
    {
        var input = Bytes(new string('x', 3000));
        for (int at = 0; at <= input.Length; at += 250)
        {
            var reader = new SequenceReader<byte>(BufferSegment.Split(input, at));
            Assert.Equal(LineStatus.TooLong, SmtpCommandParser.TryReadLine(ref reader, 2048, out _));
            Assert.Equal(0, reader.Consumed);
        }
    }

    [Fact]
    public void PartialLineWithinMaxLengthNeedsMore()
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes(new string('x', 2048))));
        Assert.Equal(LineStatus.NeedMore, SmtpCommandParser.TryReadLine(ref reader, 2048, out _));
        Assert.Equal(0, reader.Consumed);
    }

    private static byte[] Bytes(string s) => Encoding.ASCII.GetBytes(s);

    private static int CompleteLineBytes(ReadOnlySpan<byte> prefix) => prefix.LastIndexOf((byte)'\n') + 1;

    /// <summary>Reads lines until anything but Ok; returns them, the final status and bytes consumed.</summary>
    private static (List<string> Lines, LineStatus Status, long Consumed) ReadAll(ReadOnlySequence<byte> input, int max)
    {
        var reader = new SequenceReader<byte>(input);
        var lines = new List<string>();
        LineStatus status;
        while ((status = SmtpCommandParser.TryReadLine(ref reader, max, out var line)) == LineStatus.Ok)
            lines.Add(Encoding.ASCII.GetString(line.ToArray()));
        return (lines, status, reader.Consumed);
    }
}
