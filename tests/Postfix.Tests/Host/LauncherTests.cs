// The ./postfix launcher as outside tools use it: verbs, exit codes, -c DIR and
// MAIL_CONFIG, file:line config errors (issue: launcher and config conventions).
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Host;

public sealed class LauncherTests
{
    [Fact]
    public async Task UnknownVerbPrintsUsageAndExits2()
    {
        var r = await Repo.PostfixAsync("frobnicate");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown command", r.Stderr);
        Assert.Contains("usage: postfix", r.Stderr);
    }

    [Fact]
    public async Task BadFlagPrintsUsageAndExits2()
    {
        var r = await Repo.PostfixAsync("-Z", "status");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("usage: postfix", r.Stderr);
        var q = await Repo.PostfixAsync("postqueue", "-Q");
        Assert.Equal(2, q.ExitCode);
    }

    [Fact]
    public async Task ConfigErrorNamesFileAndLineAndFails()
    {
        var dir = Directory.CreateTempSubdirectory("mta-cfg-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "main.cf"), "myhostname = a.example\n\nmesage_size_limit = 10\n");
            var r = await Repo.PostfixAsync("-c", dir, "check");
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains($"{dir}/main.cf:3", r.Stderr);
            var s = await Repo.PostfixAsync("-c", dir, "start-fg");
            Assert.NotEqual(0, s.ExitCode);
            Assert.Contains($"{dir}/main.cf:3", s.Stderr);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task MailConfigSelectsListenAddressAndQueueDirectory()
    {
        var dir = Directory.CreateTempSubdirectory("mta-mc-").FullName;
        int port = MtaInstance.FreePort();
        try
        {
            File.WriteAllText(Path.Combine(dir, "main.cf"),
                "inet_interfaces = 127.0.0.1\nqueue_directory = spool\nmaillog_file = " + Path.Combine(dir, "maillog") + "\n");
            File.WriteAllText(Path.Combine(dir, "master.cf"), $"{port} inet n - n - - smtpd\n");
            var env = new Dictionary<string, string?> { ["MAIL_CONFIG"] = dir };
            var start = await Repo.RunAsync(Repo.Launcher, ["start"], TimeSpan.FromMinutes(3), env: env);
            Assert.True(start.ExitCode == 0, start.Stderr);
            try
            {
                await using (var c = await SmtpTestClient.ConnectAsync(port))
                {
                    Assert.StartsWith("220 ", await c.ReadReplyAsync());
                    await c.SendMessageAsync("a@example.org", "b@example.net", "Subject: hi\r\n\r\nbody\r\n");
                }
                // relative queue_directory is under the config directory
                Assert.True(Directory.Exists(Path.Combine(dir, "spool", "log")));
                var status = await Repo.RunAsync(Repo.Launcher, ["status"], env: env);
                Assert.Equal(0, status.ExitCode);
                var q = await Repo.RunAsync(Repo.Launcher, ["postqueue", "-n"], env: env);
                Assert.Contains("total 1", q.Stdout);
            }
            finally
            {
                var stop = await Repo.RunAsync(Repo.Launcher, ["stop"], env: env);
                Assert.Equal(0, stop.ExitCode);
            }
            var after = await Repo.RunAsync(Repo.Launcher, ["status"], env: env);
            Assert.Equal(1, after.ExitCode);
            // The queue survives a clean stop and is readable offline.
            var offline = await Repo.RunAsync(Repo.Launcher, ["postqueue", "-p"], env: env);
            Assert.Equal(0, offline.ExitCode);
            Assert.Contains("-- 1 Kbytes in 1 Request.", offline.Stdout);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task PostconfShowsEmbeddedDefaultsAndNonDefault()
    {
        var r = await Repo.PostfixAsync("postconf", "inet_interfaces", "message_size_limit");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("inet_interfaces = 127.0.0.1", r.Stdout);
        Assert.Contains("message_size_limit = 10240000", r.Stdout);
        var dir = Directory.CreateTempSubdirectory("mta-pc-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "main.cf"), "message_size_limit = 5000000\n");
            var n = await Repo.PostfixAsync("-c", dir, "postconf", "-n");
            Assert.Equal("message_size_limit = 5000000", n.Stdout.Trim());
        }
        finally { Directory.Delete(dir, true); }
    }
}
