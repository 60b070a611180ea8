// Fuzz target: SmtpCommandParser (line splitting with line_length_limit and
// bare CR / LF detection, then verb recognition) against the slow reference
// model in ReferenceCommandReader, for random inputs, random limits and
// random chunkings fed through multi-segment sequences the way smtpd's loop
// feeds them (including the discard-to-LF after a partial overlong line).
// Bounded by iteration count; the seed corpus runs at every split point.
using System.Buffers;
using CsCheck;
using Postfix.Protocols.Smtpd;
using Postfix.Tests.Smtpd;
using Xunit;

namespace Postfix.Tests.Fuzz;

public sealed class SmtpCommandParserFuzzTests
{
    private const long Iterations = 500_000; // about 20 s here (2 cores); bounded by count, not time

    private static readonly Gen<int> Limit = Gen.Frequency<int>((8, Gen.Int[0, 40]), (1, Gen.Const(2048)));

    [Fact]
    public void StreamingParserAgreesWithTheReferenceOnRandomInput()
    {
        Gen.Select(FuzzInputs.Bytes, Limit, FuzzInputs.ChunkSeed).Sample((input, limit, seed) =>
        {
            var chunks = FuzzInputs.Chunks(input.Length, seed);
            Assert.Equal(ReferenceCommandReader.Events(input, limit), Streaming(input, chunks, limit));
        }, iter: Iterations, threads: 1, print: t => $"input=\"{FuzzInputs.Show(t.Item1)}\" limit={t.Item2} seed={t.Item3}");
    }

    [Fact]
    public void VerbRecognitionAgreesWithTheReference()
    {
        // Verb-shaped lines: a known verb with random case and random byte damage.
        var verb = Gen.Frequency<byte[]>(
            (3, Gen.Frequency(new[] { "HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "HELP", "VRFY", "EXPN", "ETRN", "AUTH", "STARTTLS" }
                .Select(v => (1, System.Text.Encoding.ASCII.GetBytes(v))).ToArray())),
            (1, Gen.Byte.Array[0, 9]));
        var line = Gen.Select(verb, Gen.Int.Array[0, 3], Gen.Byte.Array[0, 3], Gen.Bool, Gen.Byte.Array[0, 12])
            .Select((v, flips, damage, space, arg) =>
            {
                var bytes = v.ToArray();
                foreach (int f in flips) if (bytes.Length > 0) bytes[(f & int.MaxValue) % bytes.Length] ^= 0x20;
                for (int i = 0; i < damage.Length && bytes.Length > 0; i++) bytes[damage[i] % bytes.Length] = damage[i];
                return space ? [.. bytes, (byte)' ', .. arg] : bytes;
            });
        line.Sample(bytes =>
        {
            var (expected, expectedArg) = ReferenceCommandReader.Parse(bytes);
            Assert.Equal(expected, SmtpCommandParser.Parse(bytes, out var arg));
            Assert.Equal(expectedArg, arg.ToArray());
        }, iter: Iterations, threads: 1, print: b => FuzzInputs.Show(b));
    }

    [Fact]
    public void SeedCorpusAgreesAtEverySplitPoint()
    {
        var corpus = FuzzInputs.Corpus("commands.txt");
        Assert.NotEmpty(corpus);
        foreach (var (line, input) in corpus)
            foreach (int limit in new[] { 0, 4, 16, 64, 2048 })
            {
                var expected = ReferenceCommandReader.Events(input, limit);
                foreach (var chunks in FuzzInputs.EverySplit(input.Length))
                {
                    var actual = Streaming(input, chunks, limit);
                    Assert.True(expected.SequenceEqual(actual),
                        $"commands.txt:{line} limit={limit} chunks=[{string.Join(",", chunks)}]\nexpected: {string.Join(" | ", expected)}\nactual:   {string.Join(" | ", actual)}");
                }
            }
    }

    /// <summary>smtpd's command loop in miniature: the buffered bytes as segments, one TryReadLine at a time.</summary>
    public static List<string> Streaming(byte[] input, int[] chunks, int limit)
    {
        var events = new List<string>();
        var pending = new List<byte[]>();
        bool discarding = false;
        int offset = 0;
        foreach (int size in chunks)
        {
            pending.Add(input[offset..(offset + size)]);
            offset += size;
            while (true)
            {
                var buffer = BufferSegment.Sequence([.. pending]);
                var reader = new SequenceReader<byte>(buffer);
                if (reader.End) break;
                if (discarding)
                {
                    if (!reader.TryAdvanceTo((byte)'\n')) { pending.Clear(); break; }
                    discarding = false;
                    Consume(pending, reader.Consumed);
                    continue;
                }
                var status = SmtpCommandParser.TryReadLine(ref reader, limit, out var line);
                if (status == LineStatus.NeedMore)
                {
                    Assert.Equal(0, reader.Consumed);
                    break;
                }
                switch (status)
                {
                    case LineStatus.TooLong:
                        Assert.Equal(0, reader.Consumed);
                        events.Add(FuzzEvents.TooLong);
                        discarding = true;
                        continue;
                    case LineStatus.TooLongComplete:
                        events.Add(FuzzEvents.TooLong);
                        break;
                    case LineStatus.BareLf:
                        events.Add(FuzzEvents.BareLf);
                        return events;
                    case LineStatus.BareCr:
                        events.Add(FuzzEvents.BareCr);
                        return events;
                    default:
                        var bytes = line.ToArray();
                        var command = SmtpCommandParser.Parse(bytes, out var argument);
                        events.Add(FuzzEvents.Command(bytes, command, argument));
                        break;
                }
                Consume(pending, reader.Consumed);
            }
        }
        return events;
    }

    private static void Consume(List<byte[]> pending, long count)
    {
        while (count > 0)
        {
            if (pending[0].Length <= count)
            {
                count -= pending[0].Length;
                pending.RemoveAt(0);
            }
            else
            {
                pending[0] = pending[0][(int)count..];
                count = 0;
            }
        }
        pending.RemoveAll(p => p.Length == 0);
    }
}
