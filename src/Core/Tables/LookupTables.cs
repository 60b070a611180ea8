// Opens "type:name" table references from main.cf (Postfix's dict_open()): static:, inline:,
// texthash:, hash: (FILE.db built by "postfix postmap"), regexp: and pcre:. Relative file names
// are taken from the config directory. A list parameter (transport_maps = a, b) is searched in
// order, first match wins (Postfix's maps.c). Input: main.cf values (trusted).
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

public static class LookupTables
{
    private static readonly string[] BuiltIn = ["hash", "inline", "pcre", "regexp", "static", "texthash"];

    // Table types that live outside Core (redis: in Postfix.Cluster), registered by the host at
    // start-up: Postfix's dict_open_register().
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<string, string?, TableOptions, ILookupTable>> Registered = new();

    /// <summary>Adds a table type: <paramref name="open"/> gets the name after "type:", the config
    /// directory (for relative file names) and the options.</summary>
    public static void Register(string type, Func<string, string?, TableOptions, ILookupTable> open) => Registered[type] = open;

    private static volatile bool _mayBlock;

    /// <summary>True once a table of a registered type (redis:, a network store) has been opened:
    /// its lookups are synchronous round trips, so callers that may run on a socket event thread
    /// move to the thread pool first (<see cref="Util.ThreadPoolHop"/>). Built-in types answer
    /// from memory.</summary>
    public static bool MayBlock => _mayBlock;

    /// <summary>Whether <paramref name="text"/> (a parameter value) names a registered, possibly
    /// blocking table type ("redis:"), so the daemon can keep socket completions off the event
    /// threads from the start.</summary>
    public static bool MentionsRegisteredType(string text)
    {
        foreach (var type in Registered.Keys)
            if (text.Contains(type + ":", StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>The types Open() knows, as "postconf -m" lists them.</summary>
    public static IReadOnlyList<string> SupportedTypes => [.. BuiltIn.Concat(Registered.Keys).Distinct().Order(StringComparer.Ordinal)];

    public static ILookupTable Open(string reference, string? baseDirectory = null, TableOptions? options = null)
    {
        options ??= TableOptions.Default;
        int colon = reference.IndexOf(':');
        if (colon <= 0) throw new ConfigException($"table \"{reference}\": expected type:name");
        var type = reference[..colon];
        var name = reference[(colon + 1)..];
        string File() => baseDirectory is null ? name : Path.Combine(baseDirectory, name);
        bool inline = name.StartsWith('{');
        return type switch
        {
            "static" => new StaticTable(inline && name.EndsWith('}') ? name[1..^1].Trim() : name),
            "inline" => DictionaryTable.Inline(name, options),
            "texthash" => DictionaryTable.TextHash(File(), options),
            "hash" => HashTable.Open(File(), options),
            "regexp" when inline => RegexpTableParser.Inline(name, RegexpTableParser.Dialect.Posix, options),
            "regexp" => RegexpTableParser.Open(File(), RegexpTableParser.Dialect.Posix, options),
            "pcre" when inline => RegexpTableParser.Inline(name, RegexpTableParser.Dialect.Pcre, options),
            "pcre" => RegexpTableParser.Open(File(), RegexpTableParser.Dialect.Pcre, options),
            _ when Registered.TryGetValue(type, out var open) => OpenRegistered(open, name, baseDirectory, options),
            _ => throw new ConfigException($"table \"{reference}\": unsupported table type \"{type}\" (supported here: {string.Join(", ", SupportedTypes)})"),
        };
    }

    private static ILookupTable OpenRegistered(Func<string, string?, TableOptions, ILookupTable> open,
        string name, string? baseDirectory, TableOptions options)
    {
        _mayBlock = true;
        return open(name, baseDirectory, options);
    }

    /// <summary>The tables of a list parameter, in order; empty when none is configured.</summary>
    public static LookupTableList OpenTables(string parameterValue, string? baseDirectory = null, TableOptions? options = null) =>
        new([.. SplitList(parameterValue).Select(r => Open(r, baseDirectory, options))]);

    /// <summary>A lookup over a list parameter's tables, first match wins; null when none is configured.</summary>
    public static Func<string, string?>? OpenList(string parameterValue, string? baseDirectory = null, TableOptions? options = null)
    {
        var list = OpenTables(parameterValue, baseDirectory, options);
        return list.Count == 0 ? null : list.Lookup;
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
