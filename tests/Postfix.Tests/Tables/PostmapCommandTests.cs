// "postfix postmap" as an operator runs it: compile, -q KEY, -q -, -s, -d, -i, -f, -r/-w,
// default_database_type for plain names, Postfix's messages and exit codes (1 for fatal errors
// and misses, 2 for usage errors).
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Tables;

public sealed class PostmapCommandTests
{
    private static Task<Repo.Result> Postmap(TableTestDir dir, string? stdin, params string[] args) =>
        Repo.RunAsync(Repo.Launcher, ["postmap", .. args], stdin: stdin, workDir: dir.Path);

    [Fact]
    public async Task CompileThenQueryHitMissAndCase()
    {
        using var dir = new TableTestDir();
        dir.Write("transport", "Example.com smtp:[mx]\nexample.com dup\n");
        var build = await Postmap(dir, null, "transport"); // plain name: default_database_type (hash)
        Assert.Equal(0, build.ExitCode);
        Assert.Equal("postmap: warning: transport.db: duplicate entry: \"example.com\"\n", build.Stderr);
        Assert.True(File.Exists(Path.Combine(dir.Path, "transport.db")));

        var hit = await Postmap(dir, null, "-q", "EXAMPLE.COM", "hash:transport");
        Assert.Equal((0, "smtp:[mx]\n"), (hit.ExitCode, hit.Stdout));
        var miss = await Postmap(dir, null, "-q", "example.org", "hash:transport");
        Assert.Equal((1, "", ""), (miss.ExitCode, miss.Stdout, miss.Stderr));
    }

    [Fact]
    public async Task QueryKeysFromStdinPrintsKeyTabValueForHits()
    {
        using var dir = new TableTestDir();
        dir.Write("t", "a 1\nb 2\n");
        Assert.Equal(0, (await Postmap(dir, null, "hash:t")).ExitCode);
        var r = await Postmap(dir, "A\nnone\n\nb\n", "-q", "-", "hash:t");
        Assert.Equal((0, "A\t1\nb\t2\n"), (r.ExitCode, r.Stdout));
        var none = await Postmap(dir, "x\ny\n", "-q", "-", "hash:t");
        Assert.Equal((1, ""), (none.ExitCode, none.Stdout));
    }

    [Fact]
    public async Task ListDeleteAndIncremental()
    {
        using var dir = new TableTestDir();
        dir.Write("t", "b 2\na 1\n");
        Assert.Equal(0, (await Postmap(dir, null, "hash:t")).ExitCode);
        Assert.Equal("b\t2\na\t1\n", (await Postmap(dir, null, "-s", "hash:t")).Stdout); // source order

        var add = await Postmap(dir, "c 3\nA 9\n", "-i", "hash:t");
        Assert.Equal(0, add.ExitCode);
        Assert.Contains("duplicate entry: \"a\"", add.Stderr);
        Assert.Equal("b\t2\na\t1\nc\t3\n", (await Postmap(dir, null, "-s", "hash:t")).Stdout);

        Assert.Equal(0, (await Postmap(dir, null, "-d", "B", "hash:t")).ExitCode);
        Assert.Equal(1, (await Postmap(dir, null, "-d", "zz", "hash:t")).ExitCode);
        Assert.Equal("a\t1\nc\t3\n", (await Postmap(dir, null, "-s", "hash:t")).Stdout);
    }

    [Fact]
    public async Task NoFoldAndDuplicateFlags()
    {
        using var dir = new TableTestDir();
        dir.Write("t", "A 1\na 2\n");
        Assert.Equal(0, (await Postmap(dir, null, "-f", "hash:t")).ExitCode);
        Assert.Equal("1\n", (await Postmap(dir, null, "-fq", "A", "hash:t")).Stdout);
        Assert.Equal("2\n", (await Postmap(dir, null, "-q", "A", "hash:t")).Stdout); // folded query, unfolded table
        var replace = await Postmap(dir, null, "-r", "hash:t");
        Assert.Equal("", replace.Stderr);
        Assert.Equal("2\n", (await Postmap(dir, null, "-q", "a", "hash:t")).Stdout);
        Assert.Equal("", (await Postmap(dir, null, "-w", "hash:t")).Stderr);
        Assert.Equal("1\n", (await Postmap(dir, null, "-q", "a", "hash:t")).Stdout);
    }

    [Fact]
    public async Task QueriesOtherTableTypesWithoutCompiling()
    {
        using var dir = new TableTestDir();
        dir.Write("r.re", "/^(.*)@example\\.com$/ user $1\n");
        dir.Write("th", "k v\n");
        Assert.Equal("user joe\n", (await Postmap(dir, null, "-q", "joe@example.com", "regexp:r.re")).Stdout);
        Assert.Equal("user joe\n", (await Postmap(dir, null, "-q", "joe@example.com", "pcre:r.re")).Stdout);
        Assert.Equal("v\n", (await Postmap(dir, null, "-q", "K", "texthash:th")).Stdout);
        Assert.Equal("2\n", (await Postmap(dir, null, "-q", "b", "inline:{a=1, b=2}")).Stdout);
        Assert.Equal("x\n", (await Postmap(dir, null, "-q", "anything", "static:x")).Stdout);
        Assert.Equal("v\n", (await Postmap(dir, null, "-q", "k", "regexp:r.re", "texthash:th")).Stdout); // first table that has it
    }

    [Theory]
    [InlineData("postmap: fatal: open database missing.db: No such file or directory", "-q", "k", "hash:missing")]
    [InlineData("postmap: fatal: open missing: No such file or directory", "hash:missing")]
    [InlineData("postmap: fatal: unsupported dictionary type: foo", "-q", "k", "foo:bar")]
    [InlineData("postmap: fatal: unsupported dictionary type: regexp does not support bulk-mode creation.", "regexp:r.re")]
    [InlineData("postmap: fatal: table regexp:r.re: sequence operation is not supported", "-s", "regexp:r.re")]
    public async Task FatalErrorsExitOne(string message, params string[] args)
    {
        using var dir = new TableTestDir();
        dir.Write("r.re", "/a/ b\n");
        var r = await Postmap(dir, null, args);
        Assert.Equal((1, ""), (r.ExitCode, r.Stdout));
        Assert.Equal(message + "\n", r.Stderr);
    }

    [Theory]
    [InlineData("-x", "t")]
    [InlineData("-q")]
    [InlineData("-q", "k")]
    [InlineData("-s", "-q", "k", "t")]
    public async Task UsageErrorsExitTwo(params string[] args)
    {
        using var dir = new TableTestDir();
        var r = await Postmap(dir, null, args);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("postfix: postmap: ", r.Stderr);
        Assert.Contains("usage:", r.Stderr);
    }

    [Fact]
    public async Task VerboseReportsProgressAndTheCount()
    {
        using var dir = new TableTestDir();
        dir.Write("big", string.Concat(Enumerable.Range(0, 100_001).Select(i => $"key{i} value{i}\n")));
        var r = await Postmap(dir, null, "-v", "hash:big");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("postmap: big: 100000 records\npostmap: big.db: 100001 entries from 100001 records\n", r.Stderr);
        Assert.Equal("value100000\n", (await Postmap(dir, null, "-q", "KEY100000", "hash:big")).Stdout);
    }
}
