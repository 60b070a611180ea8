// Expands $name, ${name}, $(name), ${name?value}, ${name:value}, ${name?{v1}:{v2}} and $$ in
// main.cf parameter values, as described under "A parameter value may refer to other
// parameters" in man 5 postconf (Postfix mac_expand()). Input is trusted config text.
using System.Collections.Concurrent;
using System.Text;

namespace Postfix.Core.Config;

internal sealed class ParameterExpander
{
    internal const int MaxDepth = 100;

    private readonly IReadOnlyDictionary<string, string> _raw;
    private readonly Func<string, (string? File, int Line)> _sourceOf;
    private readonly ConcurrentDictionary<string, string> _cache = new(StringComparer.Ordinal);

    internal ParameterExpander(IReadOnlyDictionary<string, string> raw, Func<string, (string? File, int Line)> sourceOf)
    {
        _raw = raw;
        _sourceOf = sourceOf;
    }

    /// <summary>The fully expanded value of a parameter; undefined parameters expand to "".</summary>
    internal string ExpandParameter(string name)
    {
        if (_cache.TryGetValue(name, out var cached))
        {
            return cached;
        }

        return ExpandName(name, 0, new HashSet<string>(StringComparer.Ordinal));
    }

    internal static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    internal static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!IsNameChar(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Names referenced anywhere in <paramref name="text"/> as $name, ${name...} or $(name...).</summary>
    internal static IEnumerable<string> ReferencedNames(string text)
    {
        for (int i = 0; i < text.Length - 1; i++)
        {
            if (text[i] != '$')
            {
                continue;
            }

            char next = text[i + 1];
            if (next == '$')
            {
                i++;
                continue;
            }

            int start = next is '{' or '(' ? i + 2 : i + 1;
            int end = start;
            while (end < text.Length && IsNameChar(text[end]))
            {
                end++;
            }

            if (end > start)
            {
                yield return text[start..end];
            }
        }
    }

    private string ExpandName(string name, int depth, HashSet<string> active)
    {
        if (_cache.TryGetValue(name, out var cached))
        {
            return cached;
        }

        if (!_raw.TryGetValue(name, out var raw))
        {
            return "";
        }

        if (depth > MaxDepth || !active.Add(name))
        {
            var (file, line) = _sourceOf(name);
            throw new ConfigException($"recursive expansion of ${name}", file, line);
        }

        string value = ExpandText(raw, name, depth + 1, active);
        active.Remove(name);
        _cache.TryAdd(name, value);
        return value;
    }

    private string ExpandText(string text, string owner, int depth, HashSet<string> active)
    {
        if (depth > MaxDepth)
        {
            var (file, line) = _sourceOf(owner);
            throw new ConfigException($"recursive expansion of ${owner}", file, line);
        }

        int dollar = text.IndexOf('$');
        if (dollar < 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 32);
        sb.Append(text, 0, dollar);
        int i = dollar;
        while (i < text.Length)
        {
            char c = text[i];
            if (c != '$' || i + 1 >= text.Length)
            {
                sb.Append(c);
                i++;
                continue;
            }

            char next = text[i + 1];
            if (next == '$')
            {
                sb.Append('$');
                i += 2;
            }
            else if (next is '{' or '(')
            {
                char close = next == '{' ? '}' : ')';
                int end = FindClose(text, i + 1, next, close);
                if (end < 0)
                {
                    throw Syntax(owner, $"missing '{close}' in \"{text[i..]}\"");
                }

                sb.Append(ExpandBraced(text.Substring(i + 2, end - i - 2), owner, depth, active));
                i = end + 1;
            }
            else if (IsNameChar(next))
            {
                int end = i + 1;
                while (end < text.Length && IsNameChar(text[end]))
                {
                    end++;
                }

                sb.Append(ExpandName(text[(i + 1)..end], depth, active));
                i = end;
            }
            else
            {
                sb.Append('$');
                i++;
            }
        }

        return sb.ToString();
    }

    // Handles the inside of ${...}: "name", "name?value", "name:value", "name?{v1}:{v2}".
    private string ExpandBraced(string inner, string owner, int depth, HashSet<string> active)
    {
        int n = 0;
        while (n < inner.Length && IsNameChar(inner[n]))
        {
            n++;
        }

        if (n == 0)
        {
            string what = inner.TrimStart().StartsWith('{')
                ? "relational expressions are not supported"
                : "bad parameter name";
            throw Syntax(owner, $"{what} in \"${{{inner}}}\"");
        }

        string name = inner[..n];
        string value = ExpandName(name, depth, active);
        if (n == inner.Length)
        {
            return value;
        }

        char op = inner[n];
        string rest = inner[(n + 1)..];
        string chosen;
        if (op == '?')
        {
            string trimmed = rest.Trim();
            string ifSet = rest;
            string ifEmpty = "";
            if (trimmed.StartsWith('{'))
            {
                int close = FindClose(trimmed, 0, '{', '}');
                if (close < 0)
                {
                    throw Syntax(owner, $"missing '}}' in \"${{{inner}}}\"");
                }

                ifSet = trimmed[1..close].Trim();
                string after = trimmed[(close + 1)..].TrimStart();
                if (after.Length > 0)
                {
                    if (after[0] != ':')
                    {
                        throw Syntax(owner, $"unexpected text after '}}' in \"${{{inner}}}\"");
                    }

                    ifEmpty = StripBraces(after[1..], owner, inner);
                }
            }

            chosen = value.Length > 0 ? ifSet : ifEmpty;
        }
        else if (op == ':')
        {
            chosen = value.Length == 0 ? StripBraces(rest, owner, inner) : "";
        }
        else
        {
            throw Syntax(owner, $"bad parameter name in \"${{{inner}}}\"");
        }

        return ExpandText(chosen, owner, depth + 1, active);
    }

    private ConfigException Syntax(string owner, string message)
    {
        var (file, line) = _sourceOf(owner);
        return new ConfigException($"parameter \"{owner}\": {message}", file, line);
    }

    // "{ value }" -> "value" (whitespace around the braces ignored); other text is returned as is.
    private string StripBraces(string text, string owner, string inner)
    {
        string trimmed = text.Trim();
        if (!trimmed.StartsWith('{'))
        {
            return text;
        }

        int close = FindClose(trimmed, 0, '{', '}');
        if (close != trimmed.Length - 1)
        {
            throw Syntax(owner, $"unbalanced '{{' in \"${{{inner}}}\"");
        }

        return trimmed[1..close].Trim();
    }

    private static int FindClose(string text, int openIndex, char open, char close)
    {
        int level = 0;
        for (int i = openIndex; i < text.Length; i++)
        {
            if (text[i] == open)
            {
                level++;
            }
            else if (text[i] == close && --level == 0)
            {
                return i;
            }
        }

        return -1;
    }
}
