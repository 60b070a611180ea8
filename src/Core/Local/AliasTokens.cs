// Splits the right-hand side of an aliases(5) entry, a :include: line or a
// .forward line into destinations (Postfix local/token.c over tok822_parse):
// comma-separated, where a destination may be double-quoted to protect
// commas and blanks ("|/usr/bin/vacation -a x", "/path with space"), an
// address may be written "Name <addr>", and an unquoted "|command" runs to the
// next comma. Input is untrusted in the .forward case: the number of
// destinations and their length are bounded.
using System.Text;

namespace Postfix.Core.Local;

public static class AliasTokens
{
    public const int MaxTokens = 1000;
    public const int MaxTokenLength = 4096;

    public static List<string> Split(string text)
    {
        var result = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        int angle = 0;
        for (int i = 0; i < text.Length && result.Count < MaxTokens; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '\\' && i + 1 < text.Length) current.Append(text[++i]);
                else if (c == '"') quoted = false;
                else current.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == '<' && !StartsCommand()) { angle++; current.Clear(); }
            else if (c == '>' && angle > 0) { angle--; }
            else if (c == ',' && angle == 0) { Flush(); }
            else if (c == '(' && !StartsCommand()) { i = SkipComment(text, i); }
            else current.Append(c);
            if (current.Length > MaxTokenLength) current.Length = MaxTokenLength;
        }
        Flush();
        return result;

        bool StartsCommand() => current.ToString().TrimStart().StartsWith('|');

        void Flush()
        {
            var t = current.ToString().Trim();
            if (t.Length > 0 && result.Count < MaxTokens) result.Add(t);
            current.Clear();
        }
    }

    private static int SkipComment(string text, int open)
    {
        int level = 0;
        for (int i = open; i < text.Length; i++)
        {
            if (text[i] == '(') level++;
            else if (text[i] == ')' && --level == 0) return i;
        }
        return text.Length - 1;
    }
}
