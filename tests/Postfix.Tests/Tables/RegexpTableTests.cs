// regexp: tables (regexp_table(5)): POSIX patterns tried in order against the whole key, flags
// toggled from Postfix's defaults, negation, if/endif, $N substitution, and malformed rules
// refused with file:line.
using Postfix.Core.Config;
using Postfix.Core.Tables;
using Xunit;

namespace Postfix.Tests.Tables;

public sealed class RegexpTableTests
{
    private static ILookupTable Regexp(TableTestDir dir, string source) => dir.Open("regexp", "rules", source);

    [Fact]
    public void FirstMatchingRuleWinsAndMatchingIsCaseInsensitiveByDefault()
    {
        using var dir = new TableTestDir();
        var t = Regexp(dir, "/^postmaster@/ OK\n/@example\\.com$/ REJECT no\n/./ DUNNO\n");
        Assert.Equal("OK", t.Lookup("POSTMASTER@example.com"));
        Assert.Equal("REJECT no", t.Lookup("joe@EXAMPLE.com"));
        Assert.Equal("DUNNO", t.Lookup("x"));
        Assert.Null(t.Lookup(""));
        Assert.True(t.IsPattern);
    }

    [Fact]
    public void FlagITogglesCaseSensitivity()
    {
        using var dir = new TableTestDir();
        var t = Regexp(dir, "/^Exact$/i sensitive\n");
        Assert.Equal("sensitive", t.Lookup("Exact"));
        Assert.Null(t.Lookup("exact"));
    }

    [Fact]
    public void NegatedPatternsMatchWhatDoesNotMatch()
    {
        using var dir = new TableTestDir();
        var t = Regexp(dir, "!/@example\\.com$/ foreign\n! ! /^x/ double-negation\n");
        Assert.Equal("foreign", t.Lookup("a@example.org"));
        Assert.Equal("double-negation", t.Lookup("x@example.com"));
        Assert.Null(t.Lookup("a@example.com"));
    }

    [Fact]
    public void IfEndifNestsAndSkipsBlocks()
    {
        using var dir = new TableTestDir();
        var t = Regexp(dir, """
            if /@example\.org$/
            if !/^admin/
            /^(.*)@/ user $1
            endif
            /./ admin-in-org
            endif
            /./ outside
            """);
        Assert.Equal("user bob", t.Lookup("bob@example.org"));
        Assert.Equal("admin-in-org", t.Lookup("admin@example.org"));
        Assert.Equal("outside", t.Lookup("bob@example.net"));
    }

    [Fact]
    public void IfWithoutEndifHidesTheRestWhenItDoesNotMatch()
    {
        using var dir = new TableTestDir();
        var t = Regexp(dir, "if /^a/\n/./ in\n");
        Assert.Equal("in", t.Lookup("abc"));
        Assert.Null(t.Lookup("xyz"));
        Assert.Contains(dir.Warnings, w => w.EndsWith("line 1: IF has no matching ENDIF"));
    }

    [Fact]
    public void SubstitutionFormsAndDollarEscape()
    {
        using var dir = new TableTestDir();
        var t = Regexp(dir, "/^([^+@]+)\\+([^@]*)@(.*)$/ $1 ${2}x $(3) $$1\n/^(a)(b)?c$/ [$1][$2]\n");
        Assert.Equal("joe foox example.com $1", t.Lookup("joe+foo@example.com"));
        Assert.Equal("[a][]", t.Lookup("ac")); // an unmatched group adds nothing
        Assert.True(t.TryLookup("abc"u8, out var v));
        Assert.Equal("[a][b]"u8.ToArray(), v.ToArray());
    }

    [Fact]
    public void ASubstitutedResultSurvivesALookupInAnotherTable()
    {
        using var dir = new TableTestDir();
        var one = dir.Open("regexp", "one", "/^(.*)$/ one:$1\n");
        var two = dir.Open("regexp", "two", "/^(.*)$/ two:$1\n");
        Assert.True(one.TryLookup("a"u8, out var first));
        Assert.True(two.TryLookup("b"u8, out var second));
        Assert.Equal("one:a"u8.ToArray(), first.ToArray());
        Assert.Equal("two:b"u8.ToArray(), second.ToArray());
    }

    [Fact]
    public void LegacySecondPatternMustAlsoHold()
    {
        using var dir = new TableTestDir();
        var t = Regexp(dir, "/^x/!/^xy/ second\n");
        Assert.Equal("second", t.Lookup("xa"));
        Assert.Null(t.Lookup("xyz"));
    }

    [Fact]
    public void PosixSyntaxIsTranslated()
    {
        using var dir = new TableTestDir();
        var t = Regexp(dir, """
            /^[[:digit:]]{3}[[:alpha:]]$/ class
            /^a[\.]b$/ backslash-in-bracket-is-literal
            /^basic\(x\)y$/x bre-$1
            /^dot.all$/ dotall
            /^line1$/m multiline
            /^end$/ end
            """);
        Assert.Equal("class", t.Lookup("123z"));
        Assert.Equal("backslash-in-bracket-is-literal", t.Lookup("a\\b"));
        Assert.Equal("backslash-in-bracket-is-literal", t.Lookup("a.b"));
        Assert.Equal("bre-x", t.Lookup("basicxy"));    // x off: basic syntax, \( \) group
        Assert.Equal("dotall", t.Lookup("dot\nall"));   // no REG_NEWLINE: . matches a newline
        Assert.Equal("multiline", t.Lookup("line0\nline1"));
        Assert.Null(t.Lookup("end\n"));                 // POSIX $ is the very end
    }

    [Fact]
    public void MatchingIsOnBytesWithAsciiOnlyCaseFoldingAsGlibcDoes()
    {
        using var dir = new TableTestDir();
        var t = Regexp(dir, "/^é$/ e-acute\n/^(..)$/ two-bytes [$1]\n/^x{,2}y$/ upto2\n/\\d/ never-under-icase\n/\\d/i literal-d\n");
        Assert.Equal("e-acute", t.Lookup("é"));
        Assert.Equal("two-bytes [É]", t.Lookup("É")); // no Unicode case folding; "." is one byte, $1 gives the bytes back
        Assert.Equal("upto2", t.Lookup("xxy"));
        Assert.Equal("upto2", t.Lookup("y"));
        Assert.Equal("literal-d", t.Lookup("d"));
    }

    [Theory]
    [InlineData("/a{/ result", "Unmatched \\{")]
    [InlineData("/unclosed result", "no closing regexp delimiter \"/\"")]
    [InlineData("/a/q result", "unknown regexp option \"q\"")]
    [InlineData("/(a/ result", "bad regular expression")]
    [InlineData("/a/ $1", "out of range replacement index \"1\"")]
    [InlineData("/(a)/ $1x", "non-numeric replacement index \"1x\"")]
    [InlineData("/(a)/ ${1", "truncated macro reference")]
    [InlineData("/a/ trailing $", "empty macro name")]
    [InlineData("!/(a)/ $1", "$number found in negative match replacement text")]
    [InlineData("endif", "ENDIF without matching IF")]
    [InlineData("bogus line", "unrecognized request")]
    public void MalformedRuleIsAConfigErrorWithFileAndLine(string rule, string expected)
    {
        using var dir = new TableTestDir();
        var file = dir.Write("rules", "# comment\n/ok/ fine\n" + rule + "\n");
        var e = Assert.Throws<ConfigException>(() => LookupTables.Open("regexp:" + file));
        Assert.Equal(file, e.File);
        Assert.Equal(3, e.Line);
        Assert.Contains(expected, e.Message);
        Assert.StartsWith($"{file}:3: ", e.Message);
    }

    [Fact]
    public void InlineRegexpTableReadsEachItemAsALine()
    {
        var t = LookupTables.Open("regexp:{ {/^a/ one}, {/^b(.)/ two $1} }");
        Assert.Equal("one", t.Lookup("abc"));
        Assert.Equal("two c", t.Lookup("bcd"));
    }

    [Fact]
    public void MissingFileIsAConfigError()
    {
        var e = Assert.Throws<ConfigException>(() => LookupTables.Open("regexp:/nonexistent/rules"));
        Assert.Contains("No such file or directory", e.Message);
    }
}
