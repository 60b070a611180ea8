// Our postmap against the real Postfix 3.7 postmap (Debian's /usr/sbin/postmap, with
// postfix-pcre; scripts/install-test-deps.sh installs both): the same table sources compiled by
// each in its own temp directory, then the same queries (-q KEY, -q - on stdin, -s sorted) must
// give identical stdout and exit codes. Run twice: compatibility_level 0 (smtputf8 off, A-Z
// folding) and 3.6 (our default: Unicode folding). Real postmap is run with -c on a throw-away
// config directory, so /etc/postfix is never read, and writes only into its temp directory.
using Postfix.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Postfix.Tests.Tables;

public sealed class RealPostmapComparisonTests(ITestOutputHelper output)
{
    private const string Transport = """
        # transport(5)
        example.com          smtp:[mx1.example.com]:25
        .example.com         relay:[relay.example.com]
        Sub.Example.NET      lmtp:unix:/var/run/lmtp
        internal.test        :
        *                    smtp:[fallback.test]
        "odd key"@x.test     error:5.1.1 odd   
        long.example.org     smtp:[a.example.org],
            [b.example.org]
        # a comment between continuations does not end the entry
            [c.example.org]
        Dup.example.com      first
        dup.EXAMPLE.com      second
        nokey-value
        """;

    private const string Virtual = """
        User+Ext@Example.com     ext-user
        user@example.com         plain-user
        user+ext                 bare-ext
        user                     bare
        @example.com             catchall@example.net
        postmaster@example.com   root
        Äbc@Ü.de                 unicode
        Straße@example.de        strasse
        ΣΑΣ@example.gr           sigma
        """;

    private const string Regexp = """
        /^(postmaster|abuse)@/              OK
        /^([^@+]+)\+([^@]*)@example\.com$/  ext $1 plus $2 at ${1}x$$
        if /@example\.org$/
        /^bob@/                             bob-rule
        !/^a/                               not-a
        endif
        /^Case@Sensitive\.test$/i           exact-case
        /[[:digit:]]{3}z/                   three-digits
        /^(a)(b)?c$/                        grp[$1][$2]
        /^basic\(x\)y$/x                    bre-$1
        /^x/!/^xy/                          second
        /^é/                                e-acute
        /^x{,2}y$/                          upto2
        """;

    private const string Pcre = """
        /^(?<user>[^@+]+)(?:\+(?<ext>[^@]*))?@example\.com$/   user=$1 ext=$2
        if !/^admin/
        /^(\d+)@/          digits $1
        endif
        /^Case@Exact$/i    exact
        /^x+$/A            anchored
        /^(a+?)(a*)$/U     ungreedy [$1][$2]
        /^(b++)$/          possessive $1
        /^[[:upper:]]{2}\d$/   upperdigit
        /^\Qa.b\E$/        quoted
        /^é$/              e-acute
        /^(.)(.)$/         two-bytes $1$2
        """;

    private static readonly string[] HashKeys =
    [
        "example.com", "EXAMPLE.COM", ".example.com", "sub.example.net", "internal.test", "*", "\"odd key\"@x.test",
        "long.example.org", "dup.example.com", "nokey-value", "missing.test", "",
        "user+ext@example.com", "USER+EXT@EXAMPLE.COM", "user@example.com", "user+ext", "user", "@example.com", "@EXAMPLE.com",
        "postmaster@example.com", "other@example.com", "äbc@ü.de", "ÄBC@Ü.DE", "STRASSE@example.de", "straße@example.de", "σας@example.gr",
    ];

    private static readonly string[] PatternKeys =
    [
        "postmaster@x", "ABUSE@y", "joe+foo@example.com", "joe+@example.com", "bob@example.org", "zed@example.org",
        "alice@example.org", "Case@Sensitive.test", "case@sensitive.test", "x123z", "ac", "abc", "basicxy", "xa", "xyz",
        "user@example.com", "user+e@example.com", "123@z", "admin123@z", "Case@Exact", "case@exact", "xxx", "yxx", "aaa",
        "bbb", "AB1", "ab1", "a.b", "aXb", "nomatch", "", "é", "É", "y", "xxy", "xxxy",
    ];

    [RealPostmapFact]
    public async Task HashTablesAnswerLikeRealPostmap()
    {
        foreach (var level in new[] { "0", "3.6" })
        {
            using var real = new Side("real", RealPostmapFactAttribute.RealPostmap, [], level);
            using var ours = new Side("ours", Repo.Launcher, ["postmap"], level);
            foreach (var (name, text) in new[] { ("transport", Transport), ("virtual", Virtual) })
            {
                var compiled = await Both(real, ours, s => s.Write(name, text), ["hash:" + name]);
                Assert.Equal(0, compiled.Real.ExitCode);
                await Compare(real, ours, level, name, "hash:" + name, HashKeys);
                var (r, o) = await Both(real, ours, null, ["-s", "hash:" + name]);
                Assert.Equal(Sorted(r.Stdout), Sorted(o.Stdout));
                Assert.Equal(r.ExitCode, o.ExitCode);
            }
            await Compare(real, ours, level, "missing table", "hash:nonexistent", ["k"]);
        }
    }

    [RealPostmapFact]
    public async Task RegexpAndPcreTablesAnswerLikeRealPostmap()
    {
        using var real = new Side("real", RealPostmapFactAttribute.RealPostmap, [], "3.6");
        using var ours = new Side("ours", Repo.Launcher, ["postmap"], "3.6");
        foreach (var (type, name, text) in new[] { ("regexp", "checks.re", Regexp), ("pcre", "checks.pcre", Pcre) })
        {
            real.Write(name, text);
            ours.Write(name, text);
            await Compare(real, ours, "3.6", name, $"{type}:{name}", PatternKeys);
        }
    }

    // Every key alone with -q (a sample, each a process), then all of them on stdin with -q -.
    private async Task Compare(Side real, Side ours, string level, string what, string map, string[] keys)
    {
        foreach (var key in keys.Where((_, i) => i % 3 == 0))
        {
            var (r, o) = await Both(real, ours, null, ["-q", key, map]);
            output.WriteLine($"[{level}] {what} -q '{key}': real {r.ExitCode} '{r.Stdout.TrimEnd()}', ours {o.ExitCode} '{o.Stdout.TrimEnd()}'");
            Assert.True((r.ExitCode, r.Stdout) == (o.ExitCode, o.Stdout),
                $"[compatibility_level {level}] {what}: postmap -q '{key}': real exit {r.ExitCode} '{r.Stdout}' stderr '{r.Stderr}', ours exit {o.ExitCode} '{o.Stdout}' stderr '{o.Stderr}'");
        }
        var stdin = string.Concat(keys.Select(k => k + "\n"));
        var (rs, os) = await Both(real, ours, null, ["-q", "-", map], stdin);
        Assert.Equal(rs.Stdout, os.Stdout);
        Assert.Equal(rs.ExitCode, os.ExitCode);
    }

    private static async Task<(Repo.Result Real, Repo.Result Ours)> Both(Side real, Side ours, Action<Side>? prepare, string[] args, string? stdin = null)
    {
        prepare?.Invoke(real);
        prepare?.Invoke(ours);
        return (await real.Run(args, stdin), await ours.Run(args, stdin));
    }

    private static string Sorted(string text) => string.Join('\n', text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));

    // One postmap and its own directory: main.cf in cf/, tables beside it, run from there.
    private sealed class Side : IDisposable
    {
        private readonly string _program;
        private readonly string[] _prefix;
        private readonly TableTestDir _dir = new();

        public Side(string name, string program, string[] prefix, string compatibilityLevel)
        {
            _program = program;
            _prefix = prefix;
            Directory.CreateDirectory(System.IO.Path.Combine(_dir.Path, "cf"));
            File.WriteAllText(System.IO.Path.Combine(_dir.Path, "cf", "main.cf"), $"compatibility_level = {compatibilityLevel}\n");
            Name = name;
        }

        public string Name { get; }

        public void Write(string name, string text) => _dir.Write(name, text + "\n");

        public Task<Repo.Result> Run(string[] args, string? stdin) =>
            Repo.RunAsync(_program, [.. _prefix, "-c", "cf", .. args], stdin: stdin, workDir: _dir.Path,
                env: new Dictionary<string, string?> { ["MAIL_CONFIG"] = null, ["LANG"] = "C.UTF-8" });

        public void Dispose() => _dir.Dispose();
    }
}
