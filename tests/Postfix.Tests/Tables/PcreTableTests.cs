// pcre: tables (pcre_table(5)): Perl-style patterns with Postfix's flag defaults (i and s on),
// PCRE constructs .NET spells differently, named groups numbered in order, and a pattern that
// backtracks catastrophically (ReDoS) failing the lookup instead of hanging it.
using System.Diagnostics;
using Postfix.Core.Config;
using Postfix.Core.Tables;
using Xunit;

namespace Postfix.Tests.Tables;

public sealed class PcreTableTests
{
    private static ILookupTable Pcre(TableTestDir dir, string source, TableOptions? options = null) =>
        dir.Open("pcre", "rules.pcre", source, options);

    [Fact]
    public void DefaultFlagsAreCaseInsensitiveAndDotAll()
    {
        using var dir = new TableTestDir();
        var t = Pcre(dir, "/^a.b$/ dotall\n/^a.c$/s nodot\n/^Exact$/i exact\n");
        Assert.Equal("dotall", t.Lookup("A\nB"));
        Assert.Null(t.Lookup("a\nc"));          // s toggled off
        Assert.Equal("nodot", t.Lookup("a.c"));
        Assert.Equal("exact", t.Lookup("Exact"));
        Assert.Null(t.Lookup("exact"));
    }

    [Fact]
    public void MultilineExtendedAnchoredAndDollarEndOnlyFlags()
    {
        using var dir = new TableTestDir();
        var t = Pcre(dir, "/^m$/m multi\n/ spaced (x) /x xflag $1\n/x+$/A anchored\n/^e$/E endonly\n/^f$/ dollar\n");
        Assert.Equal("multi", t.Lookup("a\nm\nz"));
        Assert.Equal("xflag x", t.Lookup("spacedx"));
        Assert.Equal("anchored", t.Lookup("xxx"));
        Assert.Null(t.Lookup("yxx"));
        Assert.Null(t.Lookup("e\n"));
        Assert.Equal("dollar", t.Lookup("f\n")); // PCRE's $ also matches before a final newline
    }

    [Fact]
    public void UngreedyFlagAndPossessiveQuantifiers()
    {
        using var dir = new TableTestDir();
        var t = Pcre(dir, "/^(a+?)(a*)$/U u[$1][$2]\n/^(b++)b$/ never\n/^(c++)$/ poss $1\n");
        Assert.Equal("u[aaa][]", t.Lookup("aaa"));
        Assert.Null(t.Lookup("bbb"));
        Assert.Equal("poss ccc", t.Lookup("ccc"));
    }

    [Fact]
    public void NamedGroupsAreNumberedInOrderAsInPcre()
    {
        using var dir = new TableTestDir();
        var t = Pcre(dir, "/^(?<user>[^@+]+)(?:\\+(?P<ext>[^@]*))?@(example\\.com)$/ $1|$2|$3\n/^(?P<w>x)(?P=w)$/ backref\n");
        Assert.Equal("joe|foo|example.com", t.Lookup("joe+foo@example.com"));
        Assert.Equal("joe||example.com", t.Lookup("joe@example.com"));
        Assert.Equal("backref", t.Lookup("xx"));
    }

    [Fact]
    public void PcreSpellingsAreTranslated()
    {
        using var dir = new TableTestDir();
        var t = Pcre(dir, "/^[[:upper:]]{2}\\d$/ posix-class\n/^\\Qa.b\\E$/ quoted\n/^\\x{41}\\h\\w$/ hex\n/^\\d+$/ digits\n");
        Assert.Equal("posix-class", t.Lookup("AB1"));
        Assert.Equal("quoted", t.Lookup("a.b"));
        Assert.Null(t.Lookup("aXb"));
        Assert.Equal("hex", t.Lookup("A z"));
        Assert.Null(t.Lookup("٣٤")); // \d is ASCII in PCRE2 without UCP
    }

    [Fact]
    public void MatchingIsOnBytesAsWithPcre2WithoutUtf()
    {
        using var dir = new TableTestDir();
        var t = Pcre(dir, "/^é$/ e-acute\n/^(.)(.)$/ two [$2$1]\n/^\\xc3\\x{a9}x$/ hex\n");
        Assert.Equal("e-acute", t.Lookup("é"));
        Assert.Null(t.Lookup("\u00C9x"));
        Assert.Equal("hex", t.Lookup("éx"));
        Assert.True(t.TryLookup("É"u8, out var v));
        Assert.Equal("two ["u8.ToArray().Concat("É"u8.ToArray().Reverse()).Append((byte)']'), v.ToArray()); // bytes swapped, as Postfix would
    }

    [Fact]
    public void NegationAndIfEndif()
    {
        using var dir = new TableTestDir();
        var t = Pcre(dir, "if !/^admin/\n/^(\\d+)@/ digits $1\nendif\n!/@/ no-at\n");
        Assert.Equal("digits 123", t.Lookup("123@z"));
        Assert.Null(t.Lookup("admin123@z"));
        Assert.Equal("no-at", t.Lookup("local"));
    }

    [Fact]
    public void CatastrophicBacktrackingIsALookupErrorNotAHang()
    {
        using var dir = new TableTestDir();
        var t = Pcre(dir, "/^(a+)+$/ redos\n/./ other\n", dir.Options with { RegexMatchTimeout = TimeSpan.FromMilliseconds(50) });
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<TableLookupException>(() => t.Lookup(new string('a', 40) + "!"));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
        Assert.Contains("line 1", e.Message);
        Assert.Contains("longer than 50 ms", e.Message);
        Assert.Equal("redos", t.Lookup("aaaa")); // the table still answers other keys
        Assert.Throws<TableLookupException>(() => t.TryLookup("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"u8, out _));
    }

    [Fact]
    public void OptionsUnknownToPcreAreRefused()
    {
        using var dir = new TableTestDir();
        var file = dir.Write("rules", "/a/q result\n");
        var e = Assert.Throws<ConfigException>(() => LookupTables.Open("pcre:" + file));
        Assert.Equal($"{file}:1: unknown regexp option \"q\"", e.Message);
        var k = dir.Write("k", "/a\\Kb/ result\n");
        Assert.Contains(@"\K is not supported", Assert.Throws<ConfigException>(() => LookupTables.Open("pcre:" + k)).Message);
    }

    [Fact]
    public void LiteralResultsAllocateNothingPerLookup()
    {
        using var dir = new TableTestDir();
        var t = Pcre(dir, "/^postmaster@/ OK\n/@example\\.com$/ REJECT\n");
        var key = "joe@example.com"u8.ToArray();
        int n = 0;
        for (int i = 0; i < 100; i++) n += t.TryLookup(key, out _) ? 1 : 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) n += t.TryLookup(key, out _) ? 1 : 0;
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1100, n);
    }
}
