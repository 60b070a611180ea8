// smtpd_junk_command_limit: a client that only sends NOOP/RSET/VRFY cannot hold
// a session forever; past the limit each junk command counts as an error.
using Xunit;

namespace Postfix.Tests.Smtpd;

public sealed class SmtpdJunkCommandTests(SmtpdJunkCommandTests.Fixture mta) : IClassFixture<SmtpdJunkCommandTests.Fixture>
{
    public sealed class Fixture : MtaFixture
    {
        protected override string MainCfExtra => """
            smtpd_junk_command_limit = 5
            smtpd_hard_error_limit = 3
            smtpd_error_sleep_time = 0
            """;
    }

    [Fact]
    public async Task JunkCommandsPastTheLimitEndInTooManyErrors()
    {
        using var w = await SmtpWire.OpenAsync(mta.Port);
        for (int i = 0; i < 7; i++)
            Assert.Equal(250, (await w.CommandAsync(i % 2 == 0 ? "NOOP" : "RSET")).Code);
        // The 8th junk command is the 3rd error: answered, then 421 and disconnect.
        Assert.Equal(250, (await w.CommandAsync("NOOP")).Code);
        var last = await w.ReadReplyAsync();
        Assert.StartsWith("421 4.7.0 ", last.Last);
        Assert.True(await w.ClosedByServerAsync());
    }
}
