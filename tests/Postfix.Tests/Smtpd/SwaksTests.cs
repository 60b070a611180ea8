// A real peer: swaks (the Swiss Army Knife for SMTP) against the real MTA
// process, with PIPELINING, its own dot-stuffing of --data, and --quit-after.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Smtpd;

public sealed class SwaksTests(SwaksTests.Fixture mta) : IClassFixture<SwaksTests.Fixture>
{
    public sealed class Fixture : MtaFixture;

    private Task<Repo.Result> SwaksAsync(params string[] extra) =>
        Repo.RunAsync(Repo.Which("swaks"),
            ["--server", $"127.0.0.1:{mta.Port}", "--from", "sender@client.example", "--to", "rcpt@localhost",
             "--timeout", "10", .. extra],
            timeout: TimeSpan.FromSeconds(30));

    [Fact]
    public async Task PipelinedSwaksTransactionIsQueued()
    {
        int before = await mta.Mta.QueueCountAsync();
        var r = await SwaksAsync("--pipeline");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("queued as", r.Stdout);
        Assert.Contains("PIPELINING", r.Stdout);
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());
    }

    [Fact]
    public async Task LoneDotLineInsideDataIsStuffedAndDoesNotEndTheMessage()
    {
        int before = await mta.Mta.QueueCountAsync();
        // swaks turns "\n" into line breaks and quotes leading dots: the lone "."
        // goes out as ".." and the lines after it must stay message content.
        var r = await SwaksAsync("--data",
            "Subject: dots\\n\\nbefore\\n.\\nNOOP\\n..two dots\\nafter the dot\\n");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Matches(@"(?m)^ -> \.\.\r?$", r.Stdout);
        Assert.Contains("queued as", r.Stdout);
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());
        // Had the dot ended the data, "NOOP" would have been run as a command.
        var log = await mta.WaitForMaillogAsync("data=1 quit=1");
        Assert.DoesNotContain(log.Split('\n'), l => l.Contains("disconnect from") && l.Contains("noop="));
    }

    [Fact]
    public async Task QuitAfterRcptQueuesNothing()
    {
        int before = await mta.Mta.QueueCountAsync();
        var r = await SwaksAsync("--quit-after", "RCPT");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("RCPT TO:<rcpt@localhost>", r.Stdout);
        Assert.Contains("221 2.0.0 Bye", r.Stdout);
        Assert.DoesNotContain(" -> DATA", r.Stdout);
        Assert.Equal(before, await mta.Mta.QueueCountAsync());
    }
}
