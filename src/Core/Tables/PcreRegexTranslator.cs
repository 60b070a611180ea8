// Translates the PCRE2 patterns of pcre_table(5) into .NET syntax where the two differ, so a
// pattern means what it means to Postfix: POSIX [:classes:], \Q...\E, \h \v \R, \x{...}, ASCII
// \d \w \s (PCRE2 without UCP), possessive quantifiers (as atomic groups), the "U" (ungreedy) and
// "E" (dollar end only) and "A" (anchored) flags, and named groups numbered in order as PCRE
// does (.NET would number them after the unnamed ones, breaking $N). The pattern arrives in
// byte-char form (PatternBytes), as Postfix's PCRE2 runs without UTF; \x escapes name bytes.
// Not reproduced: \p{..} for bytes 0x80-0xFF (PCRE2 reads them as Latin-1). Constructs .NET
// lacks (\K, recursion, (?U) inline) stay as written and fail to compile: a clear error at
// open, not a silent mismatch. Input: a pattern from the admin's table (trusted).
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Postfix.Core.Tables;

internal static class PcreRegexTranslator
{
    public static string Translate(string p, bool extendedSyntax, bool ungreedy, bool dollarEndOnly, bool multiline, bool anchored)
    {
        var sb = new StringBuilder(p.Length + 16);
        var groupStarts = new Stack<int>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        int captures = 0, lastAtom = -1;
        for (int i = 0; i < p.Length;)
        {
            char c = p[i];
            int atomStart = sb.Length;
            if (extendedSyntax && c == '#')
            {
                int nl = p.IndexOf('\n', i);
                i = nl < 0 ? p.Length : nl + 1;
                continue;
            }
            if (extendedSyntax && char.IsWhiteSpace(c)) { i++; continue; }
            switch (c)
            {
                case '\\':
                    i = Escape(p, i, sb, names);
                    lastAtom = atomStart;
                    continue;
                case '[':
                    i = CharClass(p, i, sb);
                    lastAtom = atomStart;
                    continue;
                case '(':
                    i = Group(p, i, sb, names, ref captures);
                    groupStarts.Push(atomStart);
                    lastAtom = -1;
                    continue;
                case ')':
                    sb.Append(')');
                    i++;
                    lastAtom = groupStarts.Count > 0 ? groupStarts.Pop() : -1;
                    continue;
                case '|':
                    sb.Append('|');
                    i++;
                    lastAtom = -1;
                    continue;
                case '$':
                    sb.Append(dollarEndOnly && !multiline ? @"\z" : "$");
                    i++;
                    lastAtom = -1;
                    continue;
                case '*' or '+' or '?':
                    i = Quantifier(p, i, i + 1, sb, ref lastAtom, ungreedy);
                    continue;
                case '{' when IsInterval(p, i + 1, out int end):
                    i = Quantifier(p, i, end + 1, sb, ref lastAtom, ungreedy);
                    continue;
                case '{':
                    sb.Append(@"\{");
                    i++;
                    lastAtom = atomStart;
                    continue;
                default:
                    sb.Append(c);
                    i++;
                    lastAtom = atomStart;
                    continue;
            }
        }
        var result = sb.ToString();
        return anchored ? @"\G(?:" + result + ")" : result;
    }

    // A quantifier p[start..end) just read; possessive "+" wraps the atom in (?>...), "?" or the U flag pick laziness.
    private static int Quantifier(string p, int start, int end, StringBuilder sb, ref int lastAtom, bool ungreedy)
    {
        sb.Append(p, start, end - start);
        if (end < p.Length && p[end] == '+')
        {
            if (lastAtom < 0) throw new ArgumentException("quantifier does not follow a repeatable item");
            sb.Insert(lastAtom, "(?>").Append(')');
            end++;
        }
        else if (end < p.Length && p[end] == '?')
        {
            if (!ungreedy) sb.Append('?');
            end++;
        }
        else if (ungreedy) sb.Append('?');
        lastAtom = -1;
        return end;
    }

    private static bool IsInterval(string p, int i, out int end)
    {
        int j = i;
        while (j < p.Length && char.IsAsciiDigit(p[j])) j++;
        bool digits = j > i;
        if (j < p.Length && p[j] == ',')
        {
            j++;
            while (j < p.Length && char.IsAsciiDigit(p[j])) j++;
        }
        end = j;
        return digits && j < p.Length && p[j] == '}';
    }

    private static int Group(string p, int i, StringBuilder sb, Dictionary<string, int> names, ref int captures)
    {
        if (i + 1 >= p.Length || p[i + 1] != '?')
        {
            captures++;
            sb.Append('(');
            return i + 1;
        }
        var rest = p.AsSpan(i + 2);
        if (rest.StartsWith("#"))
        {
            int close = p.IndexOf(')', i);
            if (close < 0) throw new ArgumentException("missing ) after (?# comment");
            sb.Append(p, i, close - i + 1);
            return close + 1;
        }
        string? name = null;
        int after = 0;
        if (rest.StartsWith("P<")) (name, after) = Name(p, i + 4, '>');
        else if (rest.StartsWith("<") && !rest.StartsWith("<=") && !rest.StartsWith("<!")) (name, after) = Name(p, i + 3, '>');
        else if (rest.StartsWith("'")) (name, after) = Name(p, i + 3, '\'');
        else if (rest.StartsWith("P="))
        {
            var (refName, end) = Name(p, i + 4, ')');
            sb.Append(BackReference(refName, names));
            return end;
        }
        if (name is not null)
        {
            names[name] = ++captures; // PCRE numbers named groups in order with the others
            sb.Append('(');
            return after;
        }
        sb.Append("(?");
        return i + 2;
    }

    private static (string Name, int After) Name(string p, int start, char close)
    {
        int end = p.IndexOf(close, start);
        if (end <= start) throw new ArgumentException("syntax error in subpattern name (missing terminator?)");
        return (p[start..end], end + 1);
    }

    private static string BackReference(string name, Dictionary<string, int> names) =>
        names.TryGetValue(name, out int n) ? $@"\k<{n}>" : throw new ArgumentException($"reference to non-existent subpattern \"{name}\"");

    private static int Escape(string p, int i, StringBuilder sb, Dictionary<string, int> names)
    {
        if (i + 1 >= p.Length) throw new ArgumentException(@"\ at end of pattern");
        char d = p[i + 1];
        switch (d)
        {
            case 'Q':
                int e = p.IndexOf(@"\E", i + 2, StringComparison.Ordinal);
                var literal = e < 0 ? p[(i + 2)..] : p[(i + 2)..e];
                sb.Append(Regex.Escape(literal));
                return e < 0 ? p.Length : e + 2;
            case 'E':
                return i + 2; // a stray \E is ignored, as in PCRE
            case 'k' or 'g' when i + 2 < p.Length && p[i + 2] is '<' or '{' or '\'':
                char close = p[i + 2] switch { '<' => '>', '{' => '}', _ => '\'' };
                var (name, after) = Name(p, i + 3, close);
                sb.Append(int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? $@"\k<{n}>" : BackReference(name, names));
                return after;
            case 'x':
                int next = HexEscape(p, i, out char hex);
                sb.Append(Regex.Escape(hex.ToString()));
                return next;
            case 'p' or 'P':
                int end = i + 2 < p.Length && p[i + 2] == '{' ? p.IndexOf('}', i + 2) : i + 2;
                if (end < 0 || end >= p.Length) throw new ArgumentException(@"malformed \p or \P sequence");
                sb.Append(p, i, end - i + 1);
                return end + 1;
            case 'K':
                throw new ArgumentException(@"\K is not supported by this pcre: implementation");
        }
        sb.Append(d switch
        {
            'd' => "[0-9]",
            'D' => "[^0-9]",
            'w' => "[a-zA-Z0-9_]",
            'W' => "[^a-zA-Z0-9_]",
            's' => @"[\t\n\v\f\r ]",
            'S' => @"[^\t\n\v\f\r ]",
            'h' => HorizontalSpace,
            'H' => "[^" + HorizontalSpace[1..],
            'v' => VerticalSpace,
            'V' => "[^" + VerticalSpace[1..],
            'R' => @"(?:\r\n|" + VerticalSpace + ")",
            _ => "\\" + d,
        });
        return i + 2;
    }

    // \xHH or \x{H...} at i: a byte (PCRE2 without UTF), in byte-char form (PatternBytes).
    private static int HexEscape(string p, int i, out char c)
    {
        int start, end, next;
        if (i + 2 < p.Length && p[i + 2] == '{')
        {
            start = i + 3;
            end = p.IndexOf('}', start);
            if (end < 0) throw new ArgumentException(@"missing } after \x{");
            next = end + 1;
        }
        else
        {
            start = i + 2;
            end = start;
            while (end < p.Length && end < start + 2 && char.IsAsciiHexDigit(p[end])) end++;
            next = end;
        }
        int value = 0;
        if (end > start && !int.TryParse(p.AsSpan(start, end - start), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value))
            throw new ArgumentException(@"bad \x escape");
        if (value > 0xFF) throw new ArgumentException(@"character code point value in \x{} is too large (pcre: tables match bytes)");
        c = PatternBytes.ToChar((byte)value);
        return next;
    }

    private const string HorizontalSpace = @"[\t \u00A0\u1680\u180E\u2000-\u200A\u202F\u205F\u3000]";
    private const string VerticalSpace = @"[\n\v\f\r\u0085\u2028\u2029]";

    private static int CharClass(string p, int i, StringBuilder sb)
    {
        int j = i + 1;
        sb.Append('[');
        if (j < p.Length && p[j] == '^') { sb.Append('^'); j++; }
        bool first = true;
        while (true)
        {
            if (j >= p.Length) throw new ArgumentException("missing terminating ] for character class");
            char c = p[j];
            if (c == ']' && !first) { sb.Append(']'); return j + 1; }
            if (c == ']') { sb.Append(@"\]"); j++; first = false; continue; }
            first = false;
            if (c == '[' && j + 1 < p.Length && p[j + 1] == ':')
            {
                int close = p.IndexOf(":]", j + 2, StringComparison.Ordinal);
                if (close < 0) throw new ArgumentException("missing terminating ] for character class");
                var name = p[(j + 2)..close];
                if (name.StartsWith('^')) throw new ArgumentException($"negated POSIX class [:{name}:] is not supported by this pcre: implementation");
                sb.Append(PosixRegexTranslator.ClassSet(name));
                j = close + 2;
                continue;
            }
            if (c == '[') { sb.Append(@"\["); j++; continue; }
            if (c == '\\' && j + 1 < p.Length && p[j + 1] == 'x')
            {
                j = HexEscape(p, j, out char hex);
                sb.Append(PosixRegexTranslator.ClassChar(hex));
                continue;
            }
            if (c == '\\' && j + 1 < p.Length)
            {
                char d = p[j + 1];
                sb.Append(d switch
                {
                    'd' => "0-9",
                    'w' => "a-zA-Z0-9_",
                    's' => @"\t\n\v\f\r ",
                    'h' => HorizontalSpace[1..^1],
                    'v' => VerticalSpace[1..^1],
                    'Q' or 'E' => "",
                    _ => "\\" + d,
                });
                j += 2;
                continue;
            }
            sb.Append(c);
            j++;
        }
    }
}
