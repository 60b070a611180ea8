// The postmap(1) input format ("INPUT FILE FORMAT"): logical lines (TableLineReader) of
// "key whitespace value"; the key ends at the first whitespace outside double quotes, is kept in
// its quoted form, and a backslash takes the next character literally; the value is trimmed.
// Lines Postfix skips with a warning are skipped with the same warning (missing value,
// unbalanced quote, non-UTF-8 input when smtputf8 is on); duplicates follow the builder's
// policy. Used by postmap (hash: source), texthash: and inline:. Input: the admin's source file
// (trusted for content, but every line is parsed defensively and reported with file:line).
using System.Text;
using System.Text.Unicode;

namespace Postfix.Core.Tables;

public static class TableSource
{
    public enum Flavor
    {
        /// <summary>postmap compiling FILE into FILE.db: duplicates reported against the .db name.</summary>
        Postmap,

        /// <summary>texthash: read at open (dict_thash): duplicates reported with file and line.</summary>
        TextHash,
    }

    /// <summary>Parses <paramref name="text"/> into <paramref name="builder"/>; returns the number
    /// of entries read (added or not). <paramref name="progress"/> is called every 100,000 entries.</summary>
    public static int Load(ReadOnlySpan<byte> text, string path, string dbName, Flavor flavor, HashTableBuilder builder,
        KeyFoldMode fold, bool utf8, Action<string>? warn, Action<int>? progress = null)
    {
        string skip = flavor == Flavor.TextHash ? " -- ignoring this line" : "";
        var reader = new TableLineReader(text, path, warn);
        int records = 0;
        while (reader.TryRead(out var raw, out int line))
        {
            if (utf8 && !Ascii.IsValid(raw) && !Utf8.IsValid(raw))
            {
                warn?.Invoke($"{path}, line {line}: non-UTF-8 input \"{Show(raw)}\" -- ignoring this line");
                continue;
            }
            var logical = TableLineReader.TrimEnd(raw);
            int keyEnd = 0;
            bool quoted = false;
            for (; keyEnd < logical.Length; keyEnd++)
            {
                byte b = logical[keyEnd];
                if (b == (byte)'\\')
                {
                    if (++keyEnd >= logical.Length) break;
                }
                else if (TableLineReader.IsSpace(b))
                {
                    if (!quoted) break;
                }
                else if (b == (byte)'"') quoted = !quoted;
            }
            if (quoted)
            {
                warn?.Invoke($"{path}, line {line}: unbalanced '\"' in '{Show(logical)}' -- ignoring this line");
                continue;
            }
            var key = logical[..Math.Min(keyEnd, logical.Length)];
            var value = TableLineReader.TrimStart(logical[key.Length..]);
            if (key.IsEmpty || value.IsEmpty)
            {
                warn?.Invoke($"{path}, line {line}: expected format: key whitespace value{skip}");
                continue;
            }
            if (key[^1] == (byte)':')
                warn?.Invoke($"{path}, line {line}: record is in \"key: value\" format; is this an alias file?");
            records++;
            if (builder.Add(key, value) == HashTableBuilder.AddResult.Duplicate && builder.WarnsOnDuplicates)
            {
                var shown = TableKeyFold.FoldString(fold, Show(key));
                warn?.Invoke(flavor == Flavor.TextHash
                    ? $"{path}, line {line}: duplicate entry: \"{shown}\""
                    : $"{dbName}: duplicate entry: \"{shown}\"");
            }
            if (progress is not null && records % 100_000 == 0) progress(records);
        }
        return records;
    }

    private static string Show(ReadOnlySpan<byte> s) => Encoding.UTF8.GetString(s);
}
