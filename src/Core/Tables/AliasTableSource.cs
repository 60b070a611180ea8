// aliases(5) source files ("name: value, value", continuation lines, #
// comments) compiled into the hash: format (postalias, newaliases) that
// local(8) reads through alias_maps. The file is trusted configuration but
// read defensively: a line without "name:" is reported with file and line
// and skipped, as postalias does; duplicates keep the first with a warning.
using System.Text;
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

public static class AliasTableSource
{
    /// <summary>Compiles FILE (aliases(5) syntax) into FILE.db; returns the number of entries.</summary>
    public static int Compile(string file, TableOptions options)
    {
        if (!File.Exists(file)) throw new ConfigException($"open {file}: No such file or directory");
        var text = File.ReadAllBytes(file);
        var builder = new HashTableBuilder(options.Fold);
        var reader = new TableLineReader(text, file, options.Warn);
        int n = 0;
        while (reader.TryRead(out var raw, out int line))
        {
            var logical = TableLineReader.TrimEnd(raw);
            int colon = FindColon(logical);
            if (colon <= 0)
            {
                options.Warn?.Invoke($"{file}, line {line}: need name:value pair");
                continue;
            }
            var key = TableLineReader.TrimEnd(logical[..colon]);
            var value = TableLineReader.TrimStart(logical[(colon + 1)..]);
            if (key.Length >= 2 && key[0] == (byte)'"' && key[^1] == (byte)'"') key = key[1..^1];
            if (builder.Add(key, CollapseSpace(value)) == HashTableBuilder.AddResult.Duplicate)
                options.Warn?.Invoke($"{file}.db: duplicate entry: \"{options.FoldKey(Encoding.UTF8.GetString(key))}\"");
            n++;
        }
        builder.WriteAtomically(file + ".db");
        return n;
    }

    /// <summary>As postalias stores values: each run of white space outside quotes becomes one space.</summary>
    private static byte[] CollapseSpace(ReadOnlySpan<byte> value)
    {
        var output = new List<byte>(value.Length);
        bool quoted = false, space = false;
        foreach (var b in value)
        {
            if (b == (byte)'"') quoted = !quoted;
            if (!quoted && TableLineReader.IsSpace(b)) { space = true; continue; }
            if (space && output.Count > 0) output.Add((byte)' ');
            space = false;
            output.Add(b);
        }
        return output.ToArray();
    }

    /// <summary>The name ends at the first ':' outside a quoted string.</summary>
    private static int FindColon(ReadOnlySpan<byte> s)
    {
        bool quoted = false;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == (byte)'\\') { i++; continue; }
            if (s[i] == (byte)'"') quoted = !quoted;
            else if (s[i] == (byte)':' && !quoted) return i;
        }
        return -1;
    }
}
