// Translates the POSIX regular expressions of regexp_table(5) (regcomp() with REG_EXTENDED by
// default, basic syntax when the "x" flag toggles it off; GNU extensions \< \> \` \' \w \s \b)
// into .NET syntax with the same meaning: bracket expressions keep backslash literal and know
// [:class:] names; "." and "$" follow REG_NEWLINE (the "m" flag) explicitly, so no .NET option
// changes them; {,n} means {0,n} and an escaped letter without a meaning matches nothing under
// REG_ICASE, as with glibc. The pattern arrives in byte-char form (PatternBytes). Not
// reproduced: POSIX leftmost-longest alternation (.NET takes the first alternative that
// matches), collating elements beyond single characters. Input: a pattern from the admin's
// table (trusted); errors become ArgumentException with a reason.
using System.Text;
using System.Text.RegularExpressions;

namespace Postfix.Core.Tables;

internal static class PosixRegexTranslator
{
    public static string Translate(string pattern, bool extended, bool newlineSensitive, bool ignoreCase = true)
    {
        var sb = new StringBuilder(pattern.Length + 16);
        bool atStart = true; // BRE: '*' is literal and '^' an anchor only here
        for (int i = 0; i < pattern.Length;)
        {
            char c = pattern[i];
            bool wasStart = atStart;
            atStart = false;
            if (c == '\\')
            {
                if (i + 1 >= pattern.Length) throw new ArgumentException("trailing backslash (\\)");
                char d = pattern[i + 1];
                i += 2;
                if (!extended && d is '(' or ')' or '{' or '}' or '|' or '+' or '?')
                {
                    sb.Append(d);
                    atStart = d is '(' or '|';
                    continue;
                }
                sb.Append(d switch
                {
                    '<' => @"\b(?=\w)",
                    '>' => @"\b(?<=\w)",
                    '`' => @"\A",
                    '\'' => @"\z",
                    'w' or 'W' or 's' or 'S' or 'b' or 'B' => "\\" + d,
                    >= '1' and <= '9' => "\\" + d,
                    // glibc quirk: with REG_ICASE an escaped letter without a meaning (\d, \q) matches nothing
                    _ when char.IsAsciiLetter(d) && ignoreCase => "(?!)",
                    _ => Regex.Escape(d.ToString()),
                });
                continue;
            }
            if (c == '[')
            {
                i = Bracket(pattern, i, newlineSensitive, sb);
                continue;
            }
            i++;
            switch (c)
            {
                case '.':
                    sb.Append(newlineSensitive ? @"[^\n]" : @"[\s\S]");
                    break;
                case '^':
                    if (extended || wasStart) { sb.Append(newlineSensitive ? "(?m:^)" : "^"); atStart = true; }
                    else sb.Append(@"\^");
                    break;
                case '$':
                    bool anchor = extended || i == pattern.Length || (i + 1 < pattern.Length && pattern[i] == '\\' && pattern[i + 1] is ')' or '|');
                    sb.Append(anchor ? (newlineSensitive ? "(?m:$)" : @"\z") : @"\$");
                    break;
                case '*':
                    sb.Append(!extended && wasStart ? @"\*" : "*");
                    break;
                case '(' when extended:
                    if (i < pattern.Length && pattern[i] == '?') throw new ArgumentException("Invalid preceding regular expression");
                    sb.Append('(');
                    atStart = true;
                    break;
                case '{' when extended:
                    if (!IsInterval(pattern, i)) throw new ArgumentException("Unmatched \\{ or invalid interval");
                    sb.Append(pattern[i] == ',' ? "{0" : "{"); // glibc takes {,n} as {0,n}
                    break;
                case ')' or '|' or '+' or '?' or '}' when extended:
                    sb.Append(c);
                    atStart = c == '|';
                    break;
                case '(' or ')' or '|' or '+' or '?' or '{' or '}':
                    sb.Append('\\').Append(c); // BRE: literal
                    break;
                case '#' or ' ' or '\t' or '\n' or '\r' or '\f' or '\v':
                    sb.Append(Regex.Escape(c.ToString()));
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    private static bool IsInterval(string p, int i)
    {
        int j = i;
        while (j < p.Length && char.IsAsciiDigit(p[j])) j++;
        bool digits = j > i;
        if (j < p.Length && p[j] == ',')
        {
            j++;
            int upper = j;
            while (j < p.Length && char.IsAsciiDigit(p[j])) j++;
            digits |= j > upper;
        }
        return digits && j < p.Length && p[j] == '}';
    }

    /// <summary>Translates the bracket expression at <paramref name="i"/>; returns the index after it.</summary>
    internal static int Bracket(string p, int i, bool newlineSensitive, StringBuilder sb)
    {
        int j = i + 1;
        bool negate = j < p.Length && p[j] == '^';
        if (negate) j++;
        sb.Append('[');
        if (negate) sb.Append('^');
        bool first = true;
        while (true)
        {
            if (j >= p.Length) throw new ArgumentException("Unmatched [, [^, [:, [., or [=");
            char c = p[j];
            if (c == ']' && !first) { j++; break; }
            first = false;
            if (c == '[' && j + 1 < p.Length && p[j + 1] is ':' or '=' or '.')
            {
                char kind = p[j + 1];
                int close = p.IndexOf(kind + "]", j + 2, StringComparison.Ordinal);
                if (close < 0) throw new ArgumentException("Unmatched [, [^, [:, [., or [=");
                var name = p[(j + 2)..close];
                if (kind == ':') sb.Append(ClassSet(name));
                else if (name.Length == 1) sb.Append(ClassChar(name[0]));
                else throw new ArgumentException($"Invalid collation character [{kind}{name}{kind}]");
                j = close + 2;
                continue;
            }
            sb.Append(c == '-' ? "-" : ClassChar(c));
            j++;
        }
        if (negate && newlineSensitive) sb.Append(@"\n");
        sb.Append(']');
        return j;
    }

    internal static string ClassChar(char c) => c is '\\' or '[' or ']' or '^' or '-' ? "\\" + c : c.ToString();

    /// <summary>The members of a POSIX character class in the C locale, for use inside [...].</summary>
    internal static string ClassSet(string name) => name switch
    {
        "alpha" => "a-zA-Z",
        "digit" => "0-9",
        "alnum" => "a-zA-Z0-9",
        "upper" => "A-Z",
        "lower" => "a-z",
        "space" => @"\t\n\v\f\r ",
        "blank" => @" \t",
        "punct" => @"!-/:-@\[-`{-~",
        "print" => @"\x20-\x7E",
        "graph" => @"\x21-\x7E",
        "cntrl" => @"\x00-\x1F\x7F",
        "xdigit" => "0-9A-Fa-f",
        "word" => "a-zA-Z0-9_",
        _ => throw new ArgumentException($"Invalid character class name [:{name}:]"),
    };
}
