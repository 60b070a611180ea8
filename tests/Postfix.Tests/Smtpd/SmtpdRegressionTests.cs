// Regressions for bugs found by the protocol suite: each test is the input
// that once went wrong.
using System.Buffers;
using System.Text;
using Postfix.Core.Util;
using Postfix.Protocols.Smtpd;
using Xunit;

namespace Postfix.Tests.Smtpd;

public sealed class SmtpdRegressionTests(SmtpdRegressionTests.Fixture mta) : IClassFixture<SmtpdRegressionTests.Fixture>
{
    public sealed class Fixture : MtaFixture
    {
        protected override string MainCfExtra => "smtpd_error_sleep_time = 0";
    }

    [Fact]
    public async Task OverlongCommandInOneWriteDoesNotSwallowTheNextCommand()
    {
        using var w = await SmtpWire.OpenAsync(mta.Port);
        await w.SendAsync(new string('X', 3000) + "\r\nNOOP\r\n");
        Assert.Equal(500, (await w.ReadReplyAsync()).Code);
        Assert.Equal(250, (await w.ReadReplyAsync()).Code);
    }

    [Fact]
    public void LineOfExactlyTheLimitIsOkWhetherOrNotItsLfHasArrived()
    {
        var line = Encoding.ASCII.GetBytes(new string('a', 100) + "\r");
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(line));
        Assert.Equal(LineStatus.NeedMore, SmtpCommandParser.TryReadLine(ref reader, 100, out _));
        var whole = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(new string('a', 100) + "\r\n")));
        Assert.Equal(LineStatus.Ok, SmtpCommandParser.TryReadLine(ref whole, 100, out var l));
        Assert.Equal(100, l.Length);
    }

    [Fact]
    public void DotAfterBareLfNeverEndsDataWhenBareNewlinesAreAllowed()
    {
        var input = Encoding.ASCII.GetBytes("hello\n.\r\nMAIL FROM:<evil@x>\r\n.\r\n");
        var reader = new SmtpDataReader(0, forbidBareNewline: false);
        using var output = new PooledBuffer();
        Assert.Equal(DataStatus.Done, reader.Process(input, output, out int consumed));
        Assert.Equal(input.Length, consumed);
        Assert.Equal("hello\r\n.\r\nMAIL FROM:<evil@x>\r\n", Encoding.ASCII.GetString(output.Span));
    }

    [Fact]
    public void UnlimitedSizeStillReportsTooBigWhenTheBufferBoundIsHit()
    {
        var reader = new SmtpDataReader(0, forbidBareNewline: true);
        using var output = new PooledBuffer(16, maxSize: 64);
        var input = Encoding.ASCII.GetBytes(new string('x', 200) + "\r\n.\r\n");
        Assert.Equal(DataStatus.Done, reader.Process(input, output, out _));
        Assert.True(reader.TooBig);
        Assert.Equal(202, reader.Size);
    }

    [Fact]
    public async Task SplitBdatChunkReportsTheChunkSizeAndIsCountedAsBdat()
    {
        using (var w = await SmtpWire.OpenAsync(mta.Port))
        {
            Assert.Equal(250, (await w.CommandAsync("EHLO regress.test")).Code);
            Assert.Equal(250, (await w.CommandAsync("MAIL FROM:<a@example.org>")).Code);
            Assert.Equal(250, (await w.CommandAsync("RCPT TO:<b@example.net>")).Code);
            await w.SendAsync("BDAT 10\r\n01234");
            await Task.Delay(100);
            await w.SendAsync("56789");
            var r = await w.ReadReplyAsync();
            Assert.Equal("250 2.0.0 Ok: 10 bytes", r.Last);
            await w.SendAsync("BDAT 2 LAST\r\n\r\n");
            Assert.StartsWith("250 2.0.0 Ok: queued as ", (await w.ReadReplyAsync()).Last);
            Assert.Equal(221, (await w.CommandAsync("QUIT")).Code);
        }
        var log = await mta.WaitForMaillogAsync("bdat=2 quit=1");
        var disconnect = log.Split('\n').LastOrDefault(l => l.Contains("disconnect from")) ?? "";
        Assert.True(disconnect.EndsWith("ehlo=1 mail=1 rcpt=1 bdat=2 quit=1 commands=6"), disconnect);
    }
}
