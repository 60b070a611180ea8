// Reads the hostile-input corpus (corpus/*.smtp, format in corpus/README.md)
// into cases. The format is line based so that every byte a case sends is
// visible in review: escapes for CR, LF, NUL and any byte, and a repeat
// escape for the long inputs (overlong lines, 10 000 recipients). A malformed
// corpus line fails loudly with its file and line number.
using System.Globalization;
using System.Text;

namespace Postfix.Tests.Hostile;

public static class HostileCorpus
{
    public static string Directory { get; } =
        Path.Combine(Infrastructure.Repo.Root, "tests", "Postfix.Tests", "Hostile", "corpus");

    private static readonly Lazy<IReadOnlyList<HostileCase>> _all = new(() =>
        System.IO.Directory.GetFiles(Directory, "*.smtp").Order(StringComparer.Ordinal)
            .SelectMany(f => Parse(Path.GetFileName(f), File.ReadAllText(f))).ToList());

    public static IReadOnlyList<HostileCase> All => _all.Value;

    public static HostileCase Find(string id) =>
        All.SingleOrDefault(c => c.Id == id) ?? throw new KeyNotFoundException("no corpus case " + id);

    public static IEnumerable<HostileCase> Parse(string file, string text)
    {
        var cases = new List<HostileCase>();
        var mainCf = new StringBuilder();
        string? name = null;
        int caseLine = 0, queued = 0;
        var steps = new List<HostileStep>();
        var lines = text.Split('\n');

        void Finish()
        {
            if (name is null) return;
            if (steps.Count == 0) throw Error(file, caseLine, $"case \"{name}\" has no steps");
            cases.Add(new HostileCase(file, name, caseLine, steps.ToList(), queued, mainCf.ToString()));
            steps.Clear();
            queued = 0;
        }

        for (int n = 0; n < lines.Length; n++)
        {
            int lineNo = n + 1;
            string line = lines[n].TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#') continue;
            SplitDirective(line, out var directive, out int count, out var rest);
            switch (directive)
            {
                case "set":
                    if (name is not null) throw Error(file, lineNo, "\"set\" lines belong before the first case");
                    mainCf.AppendLine(rest);
                    break;
                case "===":
                    Finish();
                    if (rest.Length == 0) throw Error(file, lineNo, "case without a name");
                    if (cases.Any(c => c.Name == rest)) throw Error(file, lineNo, $"duplicate case name \"{rest}\"");
                    name = rest;
                    caseLine = lineNo;
                    break;
                case "C":
                case "S":
                    {
                        RequireCase(name, file, lineNo);
                        byte[] one = Unescape(rest, file, lineNo);
                        if (directive == "C") one = [.. one, (byte)'\r', (byte)'\n'];
                        var all = new byte[one.Length * count];
                        for (int i = 0; i < count; i++) one.CopyTo(all, i * one.Length);
                        steps.Add(new HostileStep(HostileStepKind.Send, all, 0, "", lineNo));
                        break;
                    }
                case "R":
                    {
                        RequireCase(name, file, lineNo);
                        if (rest.Length < 3 || !int.TryParse(rest.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out int code)
                            || code < 200 || code > 599 || (rest.Length > 3 && rest[3] != ' '))
                            throw Error(file, lineNo, $"R needs a reply code: \"{rest}\"");
                        for (int i = 0; i < count; i++) steps.Add(new HostileStep(HostileStepKind.Expect, [], code, rest, lineNo));
                        break;
                    }
                case "CLOSED":
                    RequireCase(name, file, lineNo);
                    steps.Add(new HostileStep(HostileStepKind.Closed, [], 0, "", lineNo));
                    break;
                case "QUEUED":
                    RequireCase(name, file, lineNo);
                    if (!int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out queued))
                        throw Error(file, lineNo, "QUEUED needs a count");
                    break;
                default:
                    throw Error(file, lineNo, $"unknown directive \"{directive}\"");
            }
        }
        Finish();
        return cases;
    }

    /// <summary>"C*3 text" → ("C", 3, "text"); the text starts after exactly one space.</summary>
    private static void SplitDirective(string line, out string directive, out int count, out string rest)
    {
        int sp = line.IndexOf(' ');
        string head = sp < 0 ? line : line[..sp];
        rest = sp < 0 ? "" : line[(sp + 1)..];
        count = 1;
        int star = head.IndexOf('*');
        if (star > 0)
        {
            count = int.Parse(head[(star + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
            head = head[..star];
        }
        directive = head;
    }

    private static void RequireCase(string? name, string file, int line)
    {
        if (name is null) throw Error(file, line, "step before the first \"=== name\" line");
    }

    private static InvalidDataException Error(string file, int line, string message) =>
        new($"{file}:{line}: {message}");

    /// <summary>
    /// Decodes a step's text: \r \n \t \0 \s (space) \\ \xHH, and \{N:TEXT} for TEXT
    /// repeated N times (TEXT may hold escapes, including nested repeats). Any
    /// other character is sent as its UTF-8 bytes.
    /// </summary>
    public static byte[] Unescape(string text, string file = "", int line = 0)
    {
        var output = new List<byte>(text.Length);
        int i = 0;
        Decode(text, ref i, output, nested: false, file, line);
        return output.ToArray();
    }

    private static void Decode(string s, ref int i, List<byte> output, bool nested, string file, int line)
    {
        Span<byte> utf8 = stackalloc byte[4];
        while (i < s.Length)
        {
            char c = s[i];
            if (nested && c == '}') { i++; return; }
            if (c != '\\')
            {
                int len = char.IsSurrogate(c) ? 2 : 1;
                int n = Encoding.UTF8.GetBytes(s.AsSpan(i, len), utf8);
                for (int k = 0; k < n; k++) output.Add(utf8[k]);
                i += len;
                continue;
            }
            if (i + 1 >= s.Length) throw Error(file, line, "text ends in a lone backslash");
            char e = s[i + 1];
            i += 2;
            switch (e)
            {
                case 'r': output.Add((byte)'\r'); break;
                case 'n': output.Add((byte)'\n'); break;
                case 't': output.Add((byte)'\t'); break;
                case '0': output.Add(0); break;
                case 's': output.Add((byte)' '); break;
                case '\\': output.Add((byte)'\\'); break;
                case 'x':
                    if (i + 2 > s.Length || !byte.TryParse(s.AsSpan(i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
                        throw Error(file, line, "\\x needs two hex digits");
                    output.Add(b);
                    i += 2;
                    break;
                case '{':
                    {
                        int colon = s.IndexOf(':', i);
                        if (colon < 0 || !int.TryParse(s.AsSpan(i, colon - i), NumberStyles.None, CultureInfo.InvariantCulture, out int times))
                            throw Error(file, line, "\\{ needs N:TEXT}");
                        i = colon + 1;
                        var unit = new List<byte>();
                        Decode(s, ref i, unit, nested: true, file, line);
                        for (int k = 0; k < times; k++) output.AddRange(unit);
                        break;
                    }
                default:
                    throw Error(file, line, $"unknown escape \\{e}");
            }
        }
        if (nested) throw Error(file, line, "\\{ without its closing }");
    }
}
