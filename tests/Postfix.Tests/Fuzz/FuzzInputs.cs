// Inputs for the smtpd parser fuzz targets: random byte strings built mostly
// from SMTP's dangerous pieces (CR, LF, dots, NUL, 8-bit bytes, verbs in odd
// case), random chunkings of them (how a socket may deliver them), and the
// committed seed corpus (corpus/*.txt, one escaped input per line, escapes as
// in the hostile corpus) replayed at every split point on every run.
using CsCheck;
using Postfix.Tests.Hostile;

namespace Postfix.Tests.Fuzz;

public static class FuzzInputs
{
    private static readonly string[] Pieces =
    [
        "\r\n", "\r", "\n", ".", "..", " ", "  ", "\r\n.\r\n", "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n",
        ".\r\n", ".\r", ".\n", "\0", "a", "x", "\t", ":", "<", ">", "@",
        "EHLO", "ehlo", "HeLo", "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "DATA", "data", "BDAT 5 LAST", "QUIT",
        "noop", "RSET", "VRFY", "expn", "ETRN", "HELP", "AUTH", "STARTTLS", "starttlS", "STARTTLSX", "HELO_",
        "XYZZ", "MAIL", "Rcpt", "bdat",
    ];

    private static readonly Gen<byte[]> Piece = Gen.Frequency<byte[]>(
        (6, Gen.Frequency(Pieces.Select(p => (1, System.Text.Encoding.Latin1.GetBytes(p))).ToArray())),
        (2, Gen.Byte.Array[1, 6]),
        (1, Gen.Frequency((1, new byte[] { 0xFF }), (1, new byte[] { 0xC3, 0xA9 }), (1, new byte[] { 0x80 }))));

    /// <summary>Up to ~60 pieces: short enough to shrink well, long enough to cross small limits.</summary>
    public static readonly Gen<byte[]> Bytes = Piece.Array[0, 60].Select(parts => parts.SelectMany(p => p).ToArray());

    /// <summary>A seed for <see cref="Chunks"/>.</summary>
    public static readonly Gen<int> ChunkSeed = Gen.Int[0, int.MaxValue];

    /// <summary>Chunk sizes summing to <paramref name="length"/>: one byte at a time, small, mixed, or whole (empty reads included).</summary>
    public static int[] Chunks(int length, int seed)
    {
        var rnd = new Random(seed);
        int mode = rnd.Next(4);
        var sizes = new List<int>();
        int left = length;
        while (left > 0)
        {
            int n = mode switch
            {
                0 => 1,
                1 => rnd.Next(0, 4),
                2 => rnd.Next(0, 64),
                _ => left,
            };
            n = Math.Min(n, left);
            sizes.Add(n);
            left -= n;
        }
        return sizes.ToArray();
    }

    /// <summary>The input whole, byte by byte, and split in two at every point.</summary>
    public static IEnumerable<int[]> EverySplit(int length)
    {
        yield return [length];
        yield return Enumerable.Repeat(1, length).ToArray();
        for (int at = 0; at <= length; at++) yield return [at, length - at];
    }

    public static IReadOnlyList<(int Line, byte[] Input)> Corpus(string name)
    {
        var path = Path.Combine(Infrastructure.Repo.Root, "tests", "Postfix.Tests", "Fuzz", "corpus", name);
        return File.ReadAllLines(path)
            .Select((text, i) => (Line: i + 1, Text: text))
            .Where(l => l.Text.Length > 0 && l.Text[0] != '#')
            .Select(l => (l.Line, HostileCorpus.Unescape(l.Text, name, l.Line)))
            .ToList();
    }

    public static string Show(byte[] input) => FuzzEvents.Escape(input);
}
