// hash: tables: postmap's source syntax compiled into our FILE.db format and looked up over
// spans: case folding, continuation lines, comments, duplicates, quoted keys, the format's
// checks (Berkeley DB files, corruption), atomic rebuild, and no allocation per lookup.
using System.Text;
using Postfix.Core.Config;
using Postfix.Core.Tables;
using Xunit;

namespace Postfix.Tests.Tables;

public sealed class HashTableTests
{
    [Fact]
    public void KeysAreFoldedWhenBuiltAndWhenLookedUp()
    {
        using var dir = new TableTestDir();
        var t = dir.Hash("transport", "Example.COM  smtp:[Mx.Example.com]\n");
        Assert.Equal("smtp:[Mx.Example.com]", t.Lookup("example.com"));  // the value keeps its case
        Assert.Equal("smtp:[Mx.Example.com]", t.Lookup("EXAMPLE.com"));
        Assert.True(t.TryLookup("eXample.Com"u8, out var v));
        Assert.Equal("smtp:[Mx.Example.com]"u8.ToArray(), v.ToArray());
        Assert.Equal([("example.com", "smtp:[Mx.Example.com]")], t.Entries());
    }

    [Fact]
    public void NoFoldingKeepsKeysAsWritten()
    {
        using var dir = new TableTestDir();
        var options = dir.Options with { FoldCase = false };
        var t = dir.Hash("t", "Key 1\nkey 2\n", options);
        Assert.Equal("1", t.Lookup("Key"));
        Assert.Equal("2", t.Lookup("key"));
        Assert.Null(t.Lookup("KEY"));
    }

    [Fact]
    public void UnicodeKeysFoldAsPostfixCasefoldDoes()
    {
        using var dir = new TableTestDir();
        var t = dir.Hash("t", "Äbc@Ü.de 1\nStraße 2\nΣΑΣ 3\n");
        Assert.Equal("1", t.Lookup("äBC@ü.DE"));
        Assert.Equal("2", t.Lookup("STRASSE"));
        Assert.Equal("3", t.Lookup("σας"));
        var ascii = dir.Hash("a", "Äbc 1\n", dir.Options with { Utf8 = false });
        Assert.Equal("1", ascii.Lookup("Äbc"));
        Assert.Null(ascii.Lookup("äbc")); // smtputf8 off: only A-Z fold
    }

    [Fact]
    public void ContinuationLinesJoinAsIsAndCommentsDoNotEndThem()
    {
        using var dir = new TableTestDir();
        var t = dir.Hash("t", "# header\nbar   x\n  continued  \n\n# between\n\tmore\nbaz\tval   with   spaces   \r\n");
        Assert.Equal("x  continued  \tmore", t.Lookup("bar")); // only the newlines go (real postmap agrees)
        Assert.Equal("val   with   spaces", t.Lookup("baz")); // trailing whitespace (and CR) trimmed
        Assert.Equal(2, t.Count);
    }

    [Fact]
    public void DuplicateKeepsTheFirstAndWarnsLikePostmap()
    {
        using var dir = new TableTestDir();
        var t = dir.Hash("t", "Foo 1\nfoo 2\nbar 3\n");
        Assert.Equal("1", t.Lookup("foo"));
        var file = System.IO.Path.Combine(dir.Path, "t");
        Assert.Equal([$"{file}.db: duplicate entry: \"foo\""], dir.Warnings);
    }

    [Fact]
    public void ReplaceAndIgnorePoliciesAreSilent()
    {
        using var dir = new TableTestDir();
        Assert.Equal("2", dir.Hash("r", "a 1\nA 2\n", duplicates: DuplicatePolicy.Replace).Lookup("a"));
        Assert.Equal("1", dir.Hash("w", "a 1\nA 2\n", duplicates: DuplicatePolicy.Ignore).Lookup("a"));
        Assert.Empty(dir.Warnings);
    }

    [Fact]
    public void MalformedLinesAreSkippedWithPostmapsWarnings()
    {
        using var dir = new TableTestDir();
        var t = dir.Hash("t", "  lead 0\na 1\nonlykey\n\"unbalanced 3\nalias: x\nb 4\n");
        Assert.Equal("1", t.Lookup("a"));
        Assert.Equal("4", t.Lookup("b"));
        Assert.Equal("x", t.Lookup("alias:"));
        Assert.Null(t.Lookup("onlykey"));
        var file = System.IO.Path.Combine(dir.Path, "t");
        Assert.Equal(
        [
            $"{file}: logical line must not start with whitespace: \"  lead 0\"",
            $"{file}, line 3: expected format: key whitespace value",
            $"{file}, line 4: unbalanced '\"' in '\"unbalanced 3' -- ignoring this line",
            $"{file}, line 5: record is in \"key: value\" format; is this an alias file?",
        ], dir.Warnings);
    }

    [Fact]
    public void QuotedKeysMayHoldWhitespaceAndKeepTheirQuotes()
    {
        using var dir = new TableTestDir();
        var t = dir.Hash("t", "\"John Doe\"@Example.com  john\n\"a\\\"b\" 2\nk\\ x 3\n");
        Assert.Equal("john", t.Lookup("\"john doe\"@example.com"));
        Assert.Equal("2", t.Lookup("\"a\\\"b\""));
        Assert.Equal("3", t.Lookup("k\\ x")); // a backslash takes the next character, even a space
    }

    [Fact]
    public void NonUtf8SourceLinesAreSkippedWhenSmtputf8IsOn()
    {
        using var dir = new TableTestDir();
        var file = System.IO.Path.Combine(dir.Path, "t");
        File.WriteAllBytes(file, [(byte)'a', 0xFF, .. " 1\nb 2\n"u8.ToArray()]);
        var builder = new HashTableBuilder(KeyFoldMode.Utf8);
        TableSource.Load(File.ReadAllBytes(file), file, file + ".db", TableSource.Flavor.Postmap, builder, KeyFoldMode.Utf8, true, dir.Warnings.Add);
        Assert.Equal(1, builder.Count);
        Assert.Contains("non-UTF-8 input", Assert.Single(dir.Warnings));
    }

    [Fact]
    public void LongAndManyKeysAreFound()
    {
        using var dir = new TableTestDir();
        var sb = new StringBuilder();
        for (int i = 0; i < 5000; i++) sb.Append($"User{i}@Domain{i % 7}.Example value{i}\n");
        var longKey = new string('K', 1000) + "@example.com";
        sb.Append(longKey).Append(" long\n");
        var t = dir.Hash("big", sb.ToString());
        Assert.Equal(5001, t.Count);
        for (int i = 0; i < 5000; i += 37) Assert.Equal($"value{i}", t.Lookup($"user{i}@domain{i % 7}.example"));
        Assert.Equal("long", t.Lookup(longKey.ToLowerInvariant()));
        Assert.Null(t.Lookup("user5000@domain1.example"));
    }

    [Fact]
    public void LookupsAllocateNothing()
    {
        using var dir = new TableTestDir();
        var t = dir.Hash("t", "alice@example.com ok\n");
        var hit = "Alice@Example.COM"u8.ToArray();
        var miss = "bob@example.com"u8.ToArray();
        int found = 0;
        for (int i = 0; i < 100; i++) found += t.TryLookup(hit, out _) ? 1 : 0; // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            found += t.TryLookup(hit, out var v) ? v.Length : 0;
            found += t.TryLookup(miss, out _) ? 1 : 0;
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(100 + 10_000 * 2, found);
    }

    [Fact]
    public void MissingDbNamesTheDbFile()
    {
        using var dir = new TableTestDir();
        var file = dir.Write("transport", "a b\n");
        var e = Assert.Throws<ConfigException>(() => LookupTables.Open("hash:" + file));
        Assert.Equal($"open database {file}.db: No such file or directory", e.Message);
    }

    [Fact]
    public void BerkeleyDbFileFromRealPostfixIsAClearError()
    {
        using var dir = new TableTestDir();
        var file = dir.Write("transport", "a b\n");
        var bdb = new byte[4096];
        BitConverter.GetBytes(0x00061561).CopyTo(bdb, 12); // Berkeley DB hash magic, as postmap writes it
        File.WriteAllBytes(file + ".db", bdb);
        var e = Assert.Throws<ConfigException>(() => LookupTables.Open("hash:" + file));
        Assert.Contains("Berkeley DB", e.Message);
        Assert.Contains($"rebuild it with \"postfix postmap hash:{file}\"", e.Message);
    }

    [Fact]
    public void TruncatedOrCorruptDbIsRefused()
    {
        using var dir = new TableTestDir();
        dir.Hash("t", "a 1\nb 2\n");
        var db = System.IO.Path.Combine(dir.Path, "t.db");
        var image = File.ReadAllBytes(db);
        File.WriteAllBytes(db, image[..^3]);
        Assert.Contains("truncated", Assert.Throws<ConfigException>(() => HashTable.Open(System.IO.Path.Combine(dir.Path, "t"))).Message);
        image[^1] ^= 0x20;
        File.WriteAllBytes(db, image);
        Assert.Contains("checksum", Assert.Throws<ConfigException>(() => HashTable.Open(System.IO.Path.Combine(dir.Path, "t"))).Message);
        File.WriteAllText(db, "not a table at all, just text");
        Assert.Contains("not a hash: table", Assert.Throws<ConfigException>(() => HashTable.Open(System.IO.Path.Combine(dir.Path, "t"))).Message);
    }

    [Fact]
    public void RebuildReplacesTheDbAtomicallyAndAnOpenTableKeepsItsImage()
    {
        using var dir = new TableTestDir();
        var before = dir.Hash("t", "a old\n");
        var after = dir.Hash("t", "a new\n");
        Assert.Equal("old", before.Lookup("a")); // a table opened before the rebuild is unaffected
        Assert.Equal("new", after.Lookup("a"));
        Assert.Equal(["t", "t.db"], Directory.GetFiles(dir.Path).Select(System.IO.Path.GetFileName).Order());
    }

    [Fact]
    public void EmptySourceGivesAnEmptyTable()
    {
        using var dir = new TableTestDir();
        var t = dir.Hash("t", "# nothing\n\n");
        Assert.Equal(0, t.Count);
        Assert.Null(t.Lookup(""));
        Assert.Null(t.Lookup("a"));
    }
}
