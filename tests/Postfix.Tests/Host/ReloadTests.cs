// postfix reload under load: smtp-source keeps sending while main.cf changes
// and the master re-reads it. No session is dropped, no message lost, and new
// sessions see the new settings; a broken main.cf is refused with file:line and
// the running configuration stays.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Host;

public sealed class ReloadTests
{
    [Fact]
    public async Task ReloadDuringSmtpSourceLoadKeepsEverySessionAndMessage()
    {
        await using var mta = await MtaInstance.StartAsync();
        const int n = 10000;
        var load = Repo.RunAsync(Repo.Which("smtp-source"),
            ["-s", "20", "-m", n.ToString(), "-l", "4096", "-f", "a@example.org", "-t", "b@example.net", $"127.0.0.1:{mta.Port}"],
            TimeSpan.FromMinutes(3));
        // Change a setting new sessions will show, then reload while the load runs.
        Assert.True(await Repo.WaitUntilAsync(() => mta.Maillog.Contains("client=unknown"), TimeSpan.FromSeconds(30)));
        File.AppendAllText(Path.Combine(mta.ConfigDir, "main.cf"), "message_size_limit = 3000000\n");
        var reload = await mta.PostfixAsync("reload");
        Assert.True(reload.ExitCode == 0, reload.Stderr);
        Assert.Contains("refreshing the Postfix mail system", reload.Stderr);

        var r = await load;
        Assert.True(r.ExitCode == 0, $"smtp-source failed across the reload: {r.Stderr}");
        Assert.Equal(n, await mta.QueueCountAsync());
        var log = mta.Maillog;
        Assert.Contains("postfix/master[", log);
        Assert.Matches(@"postfix/master\[\d+\]: reload -- version", log);
        // The reload happened in the middle of the load: sessions went on after it.
        Assert.True(log.IndexOf("reload -- version", StringComparison.Ordinal) < log.LastIndexOf(": client=unknown", StringComparison.Ordinal),
            "the load was over before the reload");
        // (The fixture's startup probe connects and leaves: "lost connection after CONNECT".)
        Assert.DoesNotMatch(@"lost connection after (?!CONNECT)", log);
        Assert.DoesNotMatch(@"timeout after", log);

        await using (var c = await SmtpTestClient.ConnectAsync(mta.Port))
        {
            await c.ReadReplyAsync();
            await c.SendAsync("EHLO after.reload\r\n");
            Assert.Contains("250-SIZE 3000000", await c.ReadReplyAsync());
        }
    }

    [Fact]
    public async Task BrokenConfigIsRefusedAndTheOldOneKeepsRunning()
    {
        await using var mta = await MtaInstance.StartAsync();
        File.AppendAllText(Path.Combine(mta.ConfigDir, "main.cf"), "message_size_limit = lots\n");
        var reload = await mta.PostfixAsync("reload");
        Assert.NotEqual(0, reload.ExitCode);
        Assert.Contains("main.cf:", reload.Stderr);
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO still.running\r\n");
        Assert.Contains("250-SIZE 10240000", await c.ReadReplyAsync());
    }
}
