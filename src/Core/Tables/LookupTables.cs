// Opens "type:name" table references from main.cf (Postfix's dict_open):
// static:, inline:, texthash:. A list parameter (transport_maps = a, b) is
// searched in order, first match wins (Postfix's maps.c).
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

public static class LookupTables
{
    public static ILookupTable Open(string reference, string? baseDirectory = null)
    {
        int colon = reference.IndexOf(':');
        if (colon <= 0) throw new ConfigException($"table \"{reference}\": expected type:name");
        var type = reference[..colon];
        var name = reference[(colon + 1)..];
        return type switch
        {
            "static" => new StaticTable(name),
            "inline" => DictionaryTable.Inline(name),
            "texthash" => DictionaryTable.TextHash(baseDirectory is null ? name : Path.Combine(baseDirectory, name)),
            _ => throw new ConfigException($"table \"{reference}\": unsupported table type \"{type}\" (supported here: static, inline, texthash)"),
        };
    }

    /// <summary>A lookup over a list parameter's tables, first match wins; null when none is configured.</summary>
    public static Func<string, string?>? OpenList(string parameterValue, string? baseDirectory = null)
    {
        var refs = SplitList(parameterValue);
        if (refs.Count == 0) return null;
        var tables = refs.Select(r => Open(r, baseDirectory)).ToArray();
        return key =>
        {
            foreach (var t in tables)
                if (t.Lookup(key) is { } v) return v;
            return null;
        };
    }

    /// <summary>Splits "a, b inline:{ k=v, k2=v2 }" on commas and white space outside braces.</summary>
    public static List<string> SplitList(string value)
    {
        var result = new List<string>();
        int depth = 0, start = -1;
        for (int i = 0; i <= value.Length; i++)
        {
            char c = i < value.Length ? value[i] : ' ';
            if (c == '{') depth++;
            else if (c == '}') depth = Math.Max(0, depth - 1);
            bool sep = depth == 0 && (c == ',' || char.IsWhiteSpace(c));
            if (sep) { if (start >= 0) { result.Add(value[start..i]); start = -1; } }
            else if (start < 0) start = i;
        }
        return result;
    }
}
