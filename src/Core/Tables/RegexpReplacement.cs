// The result text of a regexp_table(5) / pcre_table(5) rule, parsed as Postfix's mac_parse()
// does: $1, ${1}, $(1) name matched substrings, $$ is a dollar; any other $name, an empty name
// or an unclosed ${ is an error for the rule. A result without $N is kept as one UTF-8 literal
// (the common case, no work per lookup). Input: the admin's table line (trusted).
using System.Text;
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

internal sealed class RegexpReplacement
{
    private readonly object[] _parts; // byte[] literal or int group number

    private RegexpReplacement(object[] parts, int maxGroup)
    {
        _parts = parts;
        MaxGroup = maxGroup;
        Literal = maxGroup == 0 ? (parts.Length == 0 ? [] : (byte[])parts[0]) : null;
    }

    /// <summary>The whole result when it has no $N, else null.</summary>
    public byte[]? Literal { get; }

    /// <summary>The largest $N (0: none).</summary>
    public int MaxGroup { get; }

    public static RegexpReplacement Parse(string text, string path, int line)
    {
        var parts = new List<object>();
        var literal = new StringBuilder();
        int maxGroup = 0;
        for (int i = 0; i < text.Length;)
        {
            char c = text[i];
            if (c != '$') { literal.Append(c); i++; continue; }
            if (i + 1 < text.Length && text[i + 1] == '$') { literal.Append('$'); i += 2; continue; }
            i++;
            string name;
            if (i < text.Length && text[i] is '{' or '(')
            {
                char open = text[i], close = open == '{' ? '}' : ')';
                int level = 1, j = i + 1;
                for (; j < text.Length && level > 0; j++)
                {
                    if (text[j] == open) level++;
                    else if (text[j] == close) level--;
                }
                if (level > 0) throw Error($"truncated macro reference: \"{text}\"");
                name = text[(i + 1)..(j - 1)];
                i = j;
            }
            else
            {
                int j = i;
                while (j < text.Length && (char.IsAsciiLetterOrDigit(text[j]) || text[j] == '_')) j++;
                name = text[i..j];
                i = j;
            }
            if (name.Length == 0) throw Error($"empty macro name: \"{text}\"");
            if (!name.All(char.IsAsciiDigit)) throw Error($"non-numeric replacement index \"{name}\"");
            if (!int.TryParse(name, out int n) || n < 1) throw Error($"out of range replacement index \"{name}\"");
            if (literal.Length > 0) { parts.Add(Encoding.UTF8.GetBytes(literal.ToString())); literal.Clear(); }
            parts.Add(n);
            maxGroup = Math.Max(maxGroup, n);
        }
        if (literal.Length > 0) parts.Add(Encoding.UTF8.GetBytes(literal.ToString()));
        return new RegexpReplacement([.. parts], maxGroup);

        ConfigException Error(string message) => new(message, path, line);
    }

    /// <summary>Writes the result for <paramref name="match"/> into <paramref name="buffer"/>
    /// (grown as needed); returns its length. An unmatched or empty group adds nothing.</summary>
    public int Expand(System.Text.RegularExpressions.Match match, ref byte[] buffer)
    {
        int length = 0;
        foreach (var part in _parts)
        {
            if (part is byte[] bytes)
            {
                Reserve(ref buffer, length + bytes.Length);
                bytes.CopyTo(buffer.AsSpan(length));
                length += bytes.Length;
                continue;
            }
            var group = match.Groups[(int)part];
            if (!group.Success || group.Length == 0) continue;
            var chars = group.ValueSpan; // byte-chars (PatternBytes): one byte each
            Reserve(ref buffer, length + chars.Length);
            length += PatternBytes.Encode(chars, buffer.AsSpan(length));
        }
        return length;
    }

    private static void Reserve(ref byte[] buffer, int size)
    {
        if (buffer.Length < size) Array.Resize(ref buffer, Math.Max(size, buffer.Length * 2));
    }
}
