// Fuzz target: SmtpDataReader (DATA unstuffing, end-of-data, bare CR / LF,
// size counting) against the slow reference model in ReferenceDataReader:
// the streaming reader's result for any chunking of the input must equal the
// reference over the whole input, in both bare-newline modes. Bounded by
// iteration count; the seed corpus runs at every split point.
using CsCheck;
using Postfix.Core.Util;
using Postfix.Protocols.Smtpd;
using Xunit;

namespace Postfix.Tests.Fuzz;

public sealed class SmtpDataReaderFuzzTests
{
    private const long Iterations = 500_000; // about 20 s here (2 cores); bounded by count, not time

    private static readonly Gen<long> SizeLimit = Gen.Frequency<long>((3, Gen.Const(0L)), (1, Gen.Long[1, 120]));

    [Fact]
    public void StreamingReaderAgreesWithTheReferenceOnRandomInput()
    {
        Gen.Select(FuzzInputs.Bytes, Gen.Bool, SizeLimit, FuzzInputs.ChunkSeed).Sample((input, strict, limit, seed) =>
        {
            Check(input, strict, limit, FuzzInputs.Chunks(input.Length, seed), "");
        }, iter: Iterations, threads: 1, print: t => $"input=\"{FuzzInputs.Show(t.Item1)}\" strict={t.Item2} limit={t.Item3} seed={t.Item4}");
    }

    [Fact]
    public void SeedCorpusAgreesAtEverySplitPoint()
    {
        var corpus = FuzzInputs.Corpus("data.txt");
        Assert.NotEmpty(corpus);
        foreach (var (line, input) in corpus)
            foreach (bool strict in new[] { true, false })
                foreach (long limit in new[] { 0L, 8L })
                    foreach (var chunks in FuzzInputs.EverySplit(input.Length))
                        Check(input, strict, limit, chunks, $"data.txt:{line} ");
    }

    private static void Check(byte[] input, bool strict, long limit, int[] chunks, string where)
    {
        var expected = ReferenceDataReader.Run(input, strict);
        var (status, position, output, size, tooBig) = Streaming(input, chunks, strict, limit);
        string context = $"{where}input=\"{FuzzInputs.Show(input)}\" strict={strict} limit={limit} chunks=[{string.Join(",", chunks)}]";
        Assert.True(expected.Status == status.ToString(), $"{context}: status {status}, expected {expected.Status}");
        Assert.True(expected.Position == position, $"{context}: stopped at {position}, expected {expected.Position}");
        if (status is DataStatus.BareLf or DataStatus.BareCr) return;
        Assert.True(expected.Output.Length == size, $"{context}: size {size}, expected {expected.Output.Length}");
        bool shouldBeTooBig = limit > 0 && expected.Output.Length > limit;
        Assert.True(shouldBeTooBig == tooBig, $"{context}: TooBig={tooBig}");
        if (!tooBig)
            Assert.True(expected.Output.AsSpan().SequenceEqual(output),
                $"{context}: output \"{FuzzInputs.Show(output)}\", expected \"{FuzzInputs.Show(expected.Output)}\"");
    }

    private static (DataStatus Status, long Position, byte[] Output, long Size, bool TooBig) Streaming(byte[] input, int[] chunks, bool strict, long limit)
    {
        var reader = new SmtpDataReader(limit, strict);
        using var output = new PooledBuffer(16, maxSize: 1 << 20);
        int offset = 0;
        foreach (int size in chunks)
        {
            var status = reader.Process(input.AsSpan(offset, size), output, out int consumed);
            if (status != DataStatus.NeedMore) return (status, offset + consumed, output.Span.ToArray(), reader.Size, reader.TooBig);
            Assert.Equal(size, consumed);
            offset += size;
        }
        return (DataStatus.NeedMore, offset, output.Span.ToArray(), reader.Size, reader.TooBig);
    }
}
