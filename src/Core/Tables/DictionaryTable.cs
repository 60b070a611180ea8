// inline:{ key=value, ... } and texthash:/file (man 5 postconf, postmap(1) input format): tables
// built in memory when opened, on the same engine as hash: (HashTable), so they fold keys and
// answer span lookups the same way. texthash: input is the postmap source format (TableSource:
// comments, continuation lines, quoted keys, duplicates keep the first with a warning). The file
// and the inline text are trusted configuration; their errors are reported with file:line.
using System.Text;
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

public static class DictionaryTable
{
    public static ILookupTable Inline(string spec, TableOptions? options = null)
    {
        options ??= TableOptions.Default;
        var builder = new HashTableBuilder(options.Fold, DuplicatePolicy.Replace);
        foreach (var item in InlineItems(spec, "inline"))
        {
            var t = item;
            int eq = t.IndexOf('=');
            if (eq <= 0) throw new ConfigException($"inline table \"inline:{spec}\": \"{t}\" is not key=value");
            builder.Add(Encoding.UTF8.GetBytes(t[..eq].Trim()), Encoding.UTF8.GetBytes(t[(eq + 1)..].Trim()));
        }
        return HashTable.FromBuilder("inline:" + spec, builder, options);
    }

    /// <summary>The items of "{ item, { item with, comma }, ... }" (Postfix's inline syntax), outer braces of each item removed.</summary>
    internal static List<string> InlineItems(string spec, string type)
    {
        var body = spec.Trim();
        if (!body.StartsWith('{') || !body.EndsWith('}'))
            throw new ConfigException($"inline table \"{type}:{spec}\": expected {{ ... }}");
        body = body[1..^1];
        var items = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i <= body.Length; i++)
        {
            char c = i < body.Length ? body[i] : ',';
            if (c == '{') depth++;
            else if (c == '}') depth--;
            else if (c == ',' && depth == 0)
            {
                var t = body[start..i].Trim();
                if (t.StartsWith('{') && t.EndsWith('}')) t = t[1..^1].Trim();
                if (t.Length > 0) items.Add(t);
                start = i + 1;
            }
        }
        return items;
    }

    public static ILookupTable TextHash(string path, TableOptions? options = null)
    {
        options ??= TableOptions.Default;
        byte[] text;
        try { text = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException($"texthash:{path}: open {path}: No such file or directory");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"texthash:{path}: open {path}: {e.Message}");
        }
        var builder = new HashTableBuilder(options.Fold);
        TableSource.Load(text, path, path, TableSource.Flavor.TextHash, builder, options.Fold, options.Utf8, options.Warn);
        return HashTable.FromBuilder("texthash:" + path, builder, options);
    }
}
