// LookupTables.Open: every supported "type:name", relative names from the config directory,
// texthash: and inline: on the hash engine (postmap semantics), list searches.
using Postfix.Core.Config;
using Postfix.Core.Tables;
using Xunit;

namespace Postfix.Tests.Tables;

public sealed class LookupTablesTests
{
    [Fact]
    public void TextHashFollowsPostmapSourceRules()
    {
        using var dir = new TableTestDir();
        var file = dir.Write("th", "\"a b\" 1\nA 2\na 3\nonly\n");
        var t = LookupTables.Open("texthash:" + file, null, dir.Options);
        Assert.Equal("1", t.Lookup("\"A B\""));
        Assert.Equal("2", t.Lookup("a"));
        Assert.Equal(
        [
            $"{file}, line 3: duplicate entry: \"a\"",
            $"{file}, line 4: expected format: key whitespace value -- ignoring this line",
        ], dir.Warnings);
    }

    [Fact]
    public void RelativeNamesAreTakenFromTheBaseDirectory()
    {
        using var dir = new TableTestDir();
        dir.Hash("transport", "example.com smtp:[mx]\n");
        dir.Write("checks.re", "/^x/ X\n");
        Assert.Equal("smtp:[mx]", LookupTables.Open("hash:transport", dir.Path).Lookup("example.com"));
        Assert.Equal("X", LookupTables.Open("regexp:checks.re", dir.Path).Lookup("xyz"));
    }

    [Fact]
    public void StaticAndInlineTables()
    {
        Assert.Equal("x y", LookupTables.Open("static:{ x y }").Lookup("anything"));
        Assert.Equal("v", LookupTables.Open("static:v").Lookup(""));
        var inline = LookupTables.Open("inline:{ Key=Value, { other = with, comma } }");
        Assert.Equal("Value", inline.Lookup("KEY"));
        Assert.Equal("with, comma", inline.Lookup("other"));
        Assert.True(inline.TryLookup("key"u8, out var v));
        Assert.Equal("Value"u8.ToArray(), v.ToArray());
    }

    [Fact]
    public void UnsupportedTypesAndMalformedReferencesAreConfigErrors()
    {
        Assert.Contains("unsupported table type \"ldap\"", Assert.Throws<ConfigException>(() => LookupTables.Open("ldap:/etc/postfix/ldap.cf")).Message);
        Assert.Throws<ConfigException>(() => LookupTables.Open("no-type"));
        Assert.Throws<ConfigException>(() => LookupTables.Open("inline:{ novalue }"));
    }

    [Fact]
    public void ListSearchesTablesInOrder()
    {
        using var dir = new TableTestDir();
        dir.Hash("a", "k from-a\n");
        var lookup = LookupTables.OpenList("hash:a, inline:{k=from-inline, j=only-inline} static:default", dir.Path)!;
        Assert.Equal("from-a", lookup("k"));
        Assert.Equal("only-inline", lookup("j"));
        Assert.Equal("default", lookup("zzz"));
        Assert.Null(LookupTables.OpenList(""));
    }

    [Fact]
    public void CompatibilityLevelDecidesUnicodeFolding()
    {
        Assert.False(TableOptions.Utf8ForCompatibilityLevel("0"));
        Assert.True(TableOptions.Utf8ForCompatibilityLevel("1"));
        Assert.True(TableOptions.Utf8ForCompatibilityLevel("3.6"));
    }
}
