// The slow, obviously-correct model of DATA content (RFC 5321 4.5.2 and our
// smuggling rules) that the fuzz target checks SmtpDataReader against: the
// whole input as one array, taken line by line.
// Strict (smtpd_forbid_bare_newline = yes): a line ends at CR LF; a line that
// is exactly "." ends the data; a leading dot is removed; an LF without CR is
// a bare LF, a CR followed by anything but LF is a bare CR (both stop).
// Lenient (= no): an LF alone also ends a line and is stored as CR LF, a
// stray CR is data; only "." ended by CR LF, at the start of a line that did
// not follow a bare LF, ends the data; a leading dot is removed except where
// the line only pretends to end the data ("." ended by a bare LF, "." then a
// stray CR) or follows a bare LF: then it stays, visible.
// An unterminated last line contributes what is certain so far: its text
// without the leading dot rules applied above and without a trailing CR
// (which may yet be the start of CR LF).
namespace Postfix.Tests.Fuzz;

public sealed record DataOutcome(string Status, long Position, byte[] Output);

public static class ReferenceDataReader
{
    public static DataOutcome Run(byte[] input, bool strict)
    {
        var output = new List<byte>();
        int pos = 0;
        bool afterBareLf = false;
        while (true)
        {
            int lf = Array.IndexOf(input, (byte)'\n', pos);
            if (lf < 0)
            {
                var rest = input[pos..];
                if (strict)
                {
                    int cr = Array.IndexOf(rest, (byte)'\r');
                    if (cr >= 0 && cr < rest.Length - 1) return new DataOutcome("BareCr", pos + cr + 1, []);
                }
                output.AddRange(PartialLine(rest, strict, afterBareLf));
                return new DataOutcome("NeedMore", input.Length, output.ToArray());
            }
            var line = input[pos..lf];
            bool hadCr = line.Length > 0 && line[^1] == (byte)'\r';
            var text = hadCr ? line[..^1] : line;
            if (strict)
            {
                int cr = Array.IndexOf(text, (byte)'\r');
                if (cr >= 0) return new DataOutcome("BareCr", pos + cr + 1, []);
                if (!hadCr) return new DataOutcome("BareLf", lf, []);
                if (text is [(byte)'.']) return new DataOutcome("Done", lf + 1, output.ToArray());
                output.AddRange(text is [(byte)'.', ..] ? text[1..] : text);
            }
            else
            {
                if (!afterBareLf && hadCr && text is [(byte)'.']) return new DataOutcome("Done", lf + 1, output.ToArray());
                bool keepDot = afterBareLf || text is [(byte)'.'] || text is [(byte)'.', (byte)'\r', ..];
                output.AddRange(text is [(byte)'.', ..] && !keepDot ? text[1..] : text);
                afterBareLf = !hadCr;
            }
            output.Add((byte)'\r');
            output.Add((byte)'\n');
            pos = lf + 1;
        }
    }

    private static byte[] PartialLine(byte[] rest, bool strict, bool afterBareLf)
    {
        if (rest is [(byte)'.'] or [(byte)'.', (byte)'\r'] && (strict || !afterBareLf)) return [];
        var text = rest;
        if (text is [(byte)'.', ..] && (strict || (!afterBareLf && text is not [(byte)'.', (byte)'\r', ..]))) text = text[1..];
        if (text is [.., (byte)'\r']) text = text[..^1];
        return text;
    }
}
