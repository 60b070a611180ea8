// Postfix's own load generator against our smtpd: every message acknowledged
// and exactly that many in the durable queue afterwards.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Queue;

public sealed class SmtpSourceAcceptanceTests
{
    [Fact]
    public async Task SmtpSource20000MessagesAllQueued()
    {
        await using var mta = await MtaInstance.StartAsync();
        const int n = 20000;
        var r = await Repo.RunAsync(Repo.Which("smtp-source"),
            ["-s", "20", "-m", n.ToString(), "-l", "4096", "-f", "a@example.org", "-t", "b@example.net", $"127.0.0.1:{mta.Port}"],
            TimeSpan.FromMinutes(5));
        Assert.True(r.ExitCode == 0, $"smtp-source failed: {r.Stderr}");
        Assert.Equal(n, await mta.QueueCountAsync());
        // Every acceptance is logged as Postfix logs it.
        var log = mta.Maillog;
        Assert.Matches(@"postfix/smtpd\[\d+\]: [0-9A-F]{12}: client=unknown\[127\.0\.0\.1\]", log);
        Assert.Matches(@"postfix/qmgr\[\d+\]: [0-9A-F]{12}: from=<a@example\.org>, size=\d+, nrcpt=1 \(queue active\)", log);
    }
}
