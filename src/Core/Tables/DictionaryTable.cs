// inline:{ key=value, ... } and texthash:/file (man 5 postconf, postmap(1)
// input format): an in-memory table, keys case-insensitive as Postfix folds
// them. texthash: input is "key whitespace value" lines; '#' comments, blank
// lines, and continuation lines starting with whitespace. The file is trusted
// configuration but its errors are reported with file:line.
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

public sealed class DictionaryTable : ILookupTable
{
    private readonly Dictionary<string, string> _map;

    private DictionaryTable(string name, Dictionary<string, string> map) { Name = name; _map = map; }

    public string Name { get; }

    public string? Lookup(string key) => _map.TryGetValue(key, out var v) ? v : null;

    public static DictionaryTable Inline(string spec)
    {
        // spec: "{ k1=v1, k2=v2 }" or "{ { k = v with , comma } , k2=v2 }"
        var body = spec.Trim();
        if (!body.StartsWith('{') || !body.EndsWith('}'))
            throw new ConfigException($"inline table \"inline:{spec}\": expected {{ key=value, ... }}");
        body = body[1..^1];
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in SplitItems(body))
        {
            var t = item.Trim();
            if (t.StartsWith('{') && t.EndsWith('}')) t = t[1..^1].Trim();
            if (t.Length == 0) continue;
            int eq = t.IndexOf('=');
            if (eq <= 0) throw new ConfigException($"inline table \"inline:{spec}\": \"{t}\" is not key=value");
            map[t[..eq].Trim()] = t[(eq + 1)..].Trim();
        }
        return new DictionaryTable("inline:" + spec, map);
    }

    private static IEnumerable<string> SplitItems(string body)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < body.Length; i++)
        {
            if (body[i] == '{') depth++;
            else if (body[i] == '}') depth--;
            else if (body[i] == ',' && depth == 0) { yield return body[start..i]; start = i + 1; }
        }
        yield return body[start..];
    }

    public static DictionaryTable TextHash(string path)
    {
        if (!File.Exists(path)) throw new ConfigException($"texthash:{path}: No such file or directory");
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? key = null, value = null;
        int keyLine = 0, n = 0;
        foreach (var raw in File.ReadLines(path))
        {
            n++;
            if (raw.Length == 0 || raw.TrimStart().StartsWith('#')) { Flush(); continue; }
            if (char.IsWhiteSpace(raw[0]))
            {
                if (key is null) throw new ConfigException("continuation line without a key", path, n);
                value = (value + " " + raw.Trim()).Trim();
                continue;
            }
            Flush();
            var t = raw.Trim();
            int sp = t.IndexOfAny([' ', '\t']);
            key = sp < 0 ? t : t[..sp];
            value = sp < 0 ? "" : t[sp..].Trim();
            keyLine = n;
        }
        Flush();
        return new DictionaryTable("texthash:" + path, map);

        void Flush()
        {
            if (key is null) return;
            if (value is null || value.Length == 0) throw new ConfigException($"expected \"key whitespace value\" for key \"{key}\"", path, keyLine);
            map[key] = value;
            key = null;
            value = null;
        }
    }
}
