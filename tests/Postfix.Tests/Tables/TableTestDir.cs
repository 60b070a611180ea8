// Test helper: a throw-away directory for table sources and .db files, removed on Dispose,
// plus shortcuts to build a hash: table and open any table the way main.cf would. Test-only.
using System.Text;
using Postfix.Core.Tables;

namespace Postfix.Tests.Tables;

internal sealed class TableTestDir : IDisposable
{
    public TableTestDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "postfix-tables-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public List<string> Warnings { get; } = [];

    public TableOptions Options => new() { Warn = Warnings.Add };

    public string Write(string name, string text)
    {
        var file = System.IO.Path.Combine(Path, name);
        File.WriteAllText(file, text);
        return file;
    }

    /// <summary>Compiles <paramref name="source"/> as "postmap hash:FILE" does and opens the result.</summary>
    public HashTable Hash(string name, string source, TableOptions? options = null, DuplicatePolicy duplicates = DuplicatePolicy.Warn)
    {
        options ??= Options;
        var file = Write(name, source);
        var builder = new HashTableBuilder(options.Fold, duplicates);
        TableSource.Load(Encoding.UTF8.GetBytes(source), file, file + ".db", TableSource.Flavor.Postmap, builder, options.Fold, options.Utf8, options.Warn);
        builder.WriteAtomically(file + ".db");
        return HashTable.Open(file, options);
    }

    public ILookupTable Open(string type, string name, string source, TableOptions? options = null) =>
        LookupTables.Open($"{type}:{Write(name, source)}", null, options ?? Options);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
