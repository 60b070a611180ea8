// Command-phase parsing as SmtpdSession.Process does it: TryReadLine (bounded by
// line_length_limit), Parse (verb by bytes), then for MAIL/RCPT the path parser
// and the ESMTP parameter loop. A pipelined buffer of whole sessions (EHLO, MAIL
// with SIZE/BODY, RCPT with NOTIFY/ORCPT, DATA, QUIT); figures are per command.
// Multi-segment variants split the buffer mid-line, forcing the scratch copy
// smtpd makes for a line that straddles segments.
using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Postfix.Protocols.Smtpd;

namespace Postfix.Bench;

[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 8)]
public class SmtpCommandParserBenchmarks
{
    private const int Sessions = 100;
    private const int CommandsPerSession = 5;
    private const int Commands = Sessions * CommandsPerSession;
    private const int LineLengthLimit = 2048; // Postfix line_length_limit default

    private static readonly string Session =
        "EHLO client.example.org\r\n" +
        "MAIL FROM:<alice.sender@example.org> SIZE=4096 BODY=8BITMIME\r\n" +
        "RCPT TO:<bob.recipient@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob.recipient@example.net\r\n" +
        "DATA\r\n" +
        "QUIT\r\n";

    private ReadOnlySequence<byte> _single;
    private ReadOnlySequence<byte> _pipeSegments;
    private ReadOnlySequence<byte> _smallSegments;
    private byte[] _scratch = [];

    [GlobalSetup]
    public void Setup()
    {
        var data = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(Session, Sessions)));
        _single = new ReadOnlySequence<byte>(data);
        _pipeSegments = BufferSegment.Split(data, 4096); // Pipe-sized segments: a few lines straddle
        _smallSegments = BufferSegment.Split(data, 61);  // nearly every line straddles a boundary
        _scratch = new byte[LineLengthLimit + 2];
        if (ParseAll(_single) != ParseAll(_smallSegments) || ParseAll(_single) != ParseAll(_pipeSegments))
            throw new InvalidOperationException("single- and multi-segment parses disagree");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Commands)]
    public long SingleSegment() => ParseAll(_single);

    [Benchmark(OperationsPerInvoke = Commands)]
    public long MultiSegment4K() => ParseAll(_pipeSegments);

    [Benchmark(OperationsPerInvoke = Commands)]
    public long MultiSegment61B() => ParseAll(_smallSegments);

    private long ParseAll(in ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        long check = 0;
        int commands = 0;
        while (SmtpCommandParser.TryReadLine(ref reader, LineLengthLimit, out var line) == LineStatus.Ok)
        {
            var span = line.IsSingleSegment ? line.FirstSpan : CopyToScratch(line);
            var cmd = SmtpCommandParser.Parse(span, out var arg);
            check += (int)cmd + arg.Length;
            commands++;
            switch (cmd)
            {
                case SmtpCommand.Mail: check += PathAndParameters(arg, "FROM:"u8); break;
                case SmtpCommand.Rcpt: check += PathAndParameters(arg, "TO:"u8); break;
            }
        }
        if (commands != Commands) throw new InvalidOperationException($"parsed {commands} of {Commands} commands");
        return check;
    }

    private ReadOnlySpan<byte> CopyToScratch(in ReadOnlySequence<byte> line)
    {
        line.CopyTo(_scratch);
        return _scratch.AsSpan(0, (int)line.Length);
    }

    private static long PathAndParameters(ReadOnlySpan<byte> arg, ReadOnlySpan<byte> keyword)
    {
        if (SmtpPathParser.TryParse(arg, keyword, out var address, out var parameters) != PathStatus.Ok)
            throw new InvalidOperationException("path rejected");
        long check = address.Length;
        while (SmtpPathParser.NextParameter(ref parameters, out var key, out var value))
        {
            check += key.Length;
            if (key.SequenceEqual("SIZE"u8) && SmtpPathParser.TryParseDecimal(value, out long size)) check += size;
            else if (key.SequenceEqual("ORCPT"u8) && SmtpPathParser.IsXtext(value)) check += value.Length;
            else check += value.Length;
        }
        return check;
    }
}
