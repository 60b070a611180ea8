// postconf(1) -e / -X: main.cf edited in place (a setting with its
// continuation lines replaced, comments kept, new ones appended), validated
// before it replaces the file, and used by the next start.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Host;

public sealed class PostconfEditTests
{
    [Fact]
    public async Task EditChangesNonDefaultOutputAndTheNextStartUsesIt()
    {
        await using var mta = await MtaInstance.StartAsync();
        var e = await mta.PostfixAsync("postconf", "-e", "message_size_limit=2000000");
        Assert.True(e.ExitCode == 0, e.Stderr);
        var n = await mta.PostfixAsync("postconf", "-n");
        Assert.Contains("message_size_limit = 2000000", n.Stdout.Split('\n'));
        Assert.Contains("myhostname = mx.test.example", n.Stdout.Split('\n'));
        Assert.Contains("# written by the test fixture", File.ReadAllText(Path.Combine(mta.ConfigDir, "main.cf")));

        await mta.StopAsync();
        await mta.StartProcessAsync();
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO size.test\r\n");
        var ehlo = await c.ReadReplyAsync();
        Assert.Contains("250-SIZE 2000000", ehlo.Split('\n'));
    }

    [Fact]
    public async Task UnknownParameterIsRefusedAndMainCfUnchanged()
    {
        var dir = Directory.CreateTempSubdirectory("mta-pce-").FullName;
        try
        {
            var path = Path.Combine(dir, "main.cf");
            const string original = "# site settings\nmyhostname = a.example\nsmtpd_banner = $myhostname\n  ESMTP ready\n\n# end\n";
            File.WriteAllText(path, original);
            var r = await Repo.PostfixAsync("-c", dir, "postconf", "-e", "bogus_param=1");
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("unknown parameter \"bogus_param\"", r.Stderr);
            Assert.Equal(original, File.ReadAllText(path));
            Assert.False(File.Exists(path + ".tmp"));

            // A continued setting is replaced whole; comments and order stay.
            var ok = await Repo.PostfixAsync("-c", dir, "postconf", "-e", "smtpd_banner = $myhostname ESMTP", "relayhost=[relay.example]");
            Assert.True(ok.ExitCode == 0, ok.Stderr);
            Assert.Equal("# site settings\nmyhostname = a.example\nsmtpd_banner = $myhostname ESMTP\n\n# end\nrelayhost = [relay.example]\n",
                File.ReadAllText(path));

            var x = await Repo.PostfixAsync("-c", dir, "postconf", "-X", "relayhost");
            Assert.Equal(0, x.ExitCode);
            var n = await Repo.PostfixAsync("-c", dir, "postconf", "-n");
            Assert.Equal("myhostname = a.example\nsmtpd_banner = $myhostname ESMTP", n.Stdout.Trim());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task EditCreatesMissingMainCf()
    {
        var dir = Directory.CreateTempSubdirectory("mta-pcn-").FullName;
        try
        {
            var r = await Repo.PostfixAsync("-c", dir, "postconf", "message_size_limit=5000000");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("message_size_limit = 5000000\n", File.ReadAllText(Path.Combine(dir, "main.cf")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task DashHPrintsValuesAloneAsRealPostconfDoes()
    {
        var dir = Directory.CreateTempSubdirectory("mta-pch-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "main.cf"), "myhostname = a.example\nmyorigin = $myhostname\n");
            var ours = await Repo.PostfixAsync("-c", dir, "postconf", "-h", "myhostname", "myorigin");
            Assert.Equal(0, ours.ExitCode);
            Assert.Equal(["a.example", "$myhostname"], ours.Stdout.TrimEnd('\n').Split('\n'));
            var expanded = await Repo.PostfixAsync("-c", dir, "postconf", "-hx", "myorigin");
            Assert.Equal("a.example", expanded.Stdout.Trim());
            if (File.Exists("/usr/sbin/postconf"))
            {
                var real = await Repo.RunAsync("/usr/sbin/postconf", ["-c", dir, "-h", "myhostname", "myorigin"]);
                Assert.Equal(real.Stdout, ours.Stdout);
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
