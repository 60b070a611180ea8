// local(8)'s $name expansion of forward_path, luser_relay and
// command_execution_directory (Postfix local/local_expand.c over mac_expand):
// $name, ${name}, $(name), ${name?value}, ${name:value}, ${name?{v1}:{v2}}
// and $$, where the names are the recipient's attributes ($user, $home,
// $shell, $domain, $recipient, $local, $mailbox, $extension,
// $recipient_delimiter), not main.cf parameters. A name without a value is
// "undefined" (forward_path skips such an entry). Attribute values come from
// the untrusted recipient address, so each character not in the expansion
// filter is replaced with '_'; the template itself is trusted config.
using System.Text;

namespace Postfix.Core.Local;

public static class LocalExpand
{
    [Flags]
    public enum Status
    {
        Ok = 0,
        Undefined = 1,
        Error = 2,
        ExtensionUsed = 4,
    }

    /// <summary>Expands <paramref name="template"/>; <paramref name="filter"/> null = no censoring.</summary>
    public static string Expand(string template, Func<string, string?> lookup, string? filter, out Status status)
    {
        var sb = new StringBuilder(template.Length + 32);
        status = Status.Ok;
        ExpandInto(sb, template, lookup, filter, ref status, 0);
        return sb.ToString();
    }

    private static void ExpandInto(StringBuilder sb, string text, Func<string, string?> lookup, string? filter, ref Status status, int depth)
    {
        if (depth > 20) { status |= Status.Error; return; }
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c != '$' || i + 1 >= text.Length) { sb.Append(c); continue; }
            char next = text[i + 1];
            if (next == '$') { sb.Append('$'); i++; continue; }
            if (next is '{' or '(')
            {
                char close = next == '{' ? '}' : ')';
                int end = FindClose(text, i + 1, next, close);
                if (end < 0) { status |= Status.Error; return; }
                Braced(sb, text[(i + 2)..end], lookup, filter, ref status, depth);
                i = end;
                continue;
            }
            int n = i + 1;
            while (n < text.Length && IsNameChar(text[n])) n++;
            if (n == i + 1) { sb.Append(c); continue; }
            Append(sb, text[(i + 1)..n], lookup, filter, ref status);
            i = n - 1;
        }
    }

    private static void Braced(StringBuilder sb, string inner, Func<string, string?> lookup, string? filter, ref Status status, int depth)
    {
        int n = 0;
        while (n < inner.Length && IsNameChar(inner[n])) n++;
        if (n == 0) { status |= Status.Error; return; }
        string name = inner[..n];
        if (n == inner.Length) { Append(sb, name, lookup, filter, ref status); return; }
        string? value = Value(name, lookup, ref status);
        bool defined = !string.IsNullOrEmpty(value);
        string rest = inner[(n + 1)..];
        string chosen;
        switch (inner[n])
        {
            case '?':
                var t = rest.Trim();
                if (t.StartsWith('{'))
                {
                    int close = FindClose(t, 0, '{', '}');
                    if (close < 0) { status |= Status.Error; return; }
                    string ifSet = t[1..close];
                    string after = t[(close + 1)..].TrimStart();
                    string ifNot = "";
                    if (after.StartsWith(':')) ifNot = Unbrace(after[1..]);
                    else if (after.Length > 0) { status |= Status.Error; return; }
                    chosen = defined ? ifSet : ifNot;
                }
                else chosen = defined ? rest : "";
                break;
            case ':':
                chosen = defined ? "" : Unbrace(rest);
                break;
            default:
                status |= Status.Error;
                return;
        }
        ExpandInto(sb, chosen, lookup, filter, ref status, depth + 1);
    }

    private static void Append(StringBuilder sb, string name, Func<string, string?> lookup, string? filter, ref Status status)
    {
        string? value = Value(name, lookup, ref status);
        if (value is null) { status |= Status.Undefined; return; }
        foreach (char ch in value) sb.Append(filter is null || filter.Contains(ch) ? ch : '_');
    }

    private static string? Value(string name, Func<string, string?> lookup, ref Status status)
    {
        if (name == "extension") status |= Status.ExtensionUsed;
        return lookup(name);
    }

    private static string Unbrace(string s)
    {
        var t = s.Trim();
        return t.StartsWith('{') && t.EndsWith('}') ? t[1..^1] : s;
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static int FindClose(string text, int open, char o, char c)
    {
        int level = 0;
        for (int i = open; i < text.Length; i++)
        {
            if (text[i] == o) level++;
            else if (text[i] == c && --level == 0) return i;
        }
        return -1;
    }
}
