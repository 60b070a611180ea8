// postalias / newaliases against the real Postfix postalias: the same aliases(5)
// file compiled by both gives identical -q answers and warnings; newaliases
// compiles alias_database; local(8) then reads the result through alias_maps.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Tables;

public class PostaliasTests
{
    private const string Aliases = "# aliases\npostmaster: root\nteam: alice,\n\tbob, carol@example.org\n\"quoted name\": dave\nbroken line\nTeam: dup\na:   x    y\nb: \"|cmd  arg\"\nc: p,\n   q,\t r\n";

    [Fact]
    public async Task SameAnswersAsRealPostalias()
    {
        var root = Directory.CreateTempSubdirectory("alias").FullName;
        try
        {
            var (ours, theirs, cfg) = (Path.Combine(root, "ours"), Path.Combine(root, "theirs"), Path.Combine(root, "cfg"));
            foreach (var d in new[] { ours, theirs, cfg }) Directory.CreateDirectory(d);
            File.WriteAllText(Path.Combine(cfg, "main.cf"), "");
            File.WriteAllText(Path.Combine(cfg, "master.cf"), "");
            File.WriteAllText(Path.Combine(ours, "aliases"), Aliases);
            File.WriteAllText(Path.Combine(theirs, "aliases"), Aliases);
            var o = await Repo.PostfixAsync("postalias", Path.Combine(ours, "aliases"));
            var t = await Repo.RunAsync("/usr/sbin/postalias", ["-c", cfg, Path.Combine(theirs, "aliases")]);
            Assert.Equal(t.ExitCode, o.ExitCode);
            Assert.Equal(t.Stderr.Replace(theirs, "DIR").Replace("/usr/sbin/postalias", "postalias"), o.Stderr.Replace(ours, "DIR").Replace("postfix: building Release ...\n", ""));
            foreach (var key in new[] { "postmaster", "team", "TEAM", "quoted name", "a", "b", "c", "missing", "broken" })
            {
                var oq = await Repo.PostfixAsync("postalias", "-q", key, Path.Combine(ours, "aliases"));
                var tq = await Repo.RunAsync("/usr/sbin/postalias", ["-c", cfg, "-q", key, Path.Combine(theirs, "aliases")]);
                Assert.True(tq.ExitCode == oq.ExitCode && tq.Stdout == oq.Stdout, $"{key}: postfix {tq.ExitCode} '{tq.Stdout}' ours {oq.ExitCode} '{oq.Stdout}'");
            }
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public async Task NewaliasesCompilesAliasDatabase()
    {
        await using var mta = MtaInstance.Prepare();
        var file = Path.Combine(mta.Dir, "aliases");
        File.WriteAllText(file, "info: alice, bob\n");
        File.AppendAllText(Path.Combine(mta.ConfigDir, "main.cf"), $"alias_database = hash:{file}\nalias_maps = hash:{file}\n");
        var r = await mta.PostfixAsync("newaliases");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(file + ".db"));
        Assert.Equal("alice, bob\n", (await mta.PostfixAsync("postalias", "-q", "info", file)).Stdout);
        var explain = await mta.PostfixAsync("explain", "info@localhost");
        Assert.Contains("local: alias_maps key \"info\" -> alice, bob", explain.Stdout);
    }
}
