// Server replies as the client reads them: multi-line, enhanced status codes
// (taken from the reply, class forced to agree, else derived), sanitised text.
using System.Text;
using Postfix.Protocols.Smtp;
using Xunit;

namespace Postfix.Tests.Smtp;

public sealed class SmtpReplyTests
{
    private static SmtpReply Parse(params string[] lines)
    {
        var r = new SmtpReply(2048, 100);
        for (int i = 0; i < lines.Length; i++)
            Assert.Equal(i == lines.Length - 1, r.AddLine(Encoding.UTF8.GetBytes(lines[i])));
        return r;
    }

    [Theory]
    [InlineData("250 2.0.0 Ok: queued as ABC", 250, "2.0.0")]
    [InlineData("550 5.1.1 <x@y>: User unknown", 550, "5.1.1")]
    [InlineData("451 Try later", 451, "4.0.0")]
    [InlineData("550 4.7.1 mismatched class", 550, "5.7.1")]
    [InlineData("552 5.3.4", 552, "5.3.4")]
    [InlineData("250 2.1.5.x not a code", 250, "2.0.0")]
    [InlineData("421 4.4.2 closing", 421, "4.4.2")]
    [InlineData("354 go ahead", 354, "3.0.0")]
    [InlineData("garbage", 0, "0.0.0")]
    public void CodeAndDsn(string line, int code, string dsn)
    {
        var r = Parse(line);
        Assert.Equal(code, r.Code);
        Assert.Equal(dsn, r.Dsn);
    }

    [Fact]
    public void MultiLineRepliesJoinWithSpacesLikePostfix()
    {
        var r = Parse("550-5.7.1 first", "550-5.7.1 second", "550 5.7.1 third");
        Assert.Equal("550-5.7.1 first 550-5.7.1 second 550 5.7.1 third", r.Text);
        Assert.Equal("5.7.1", r.Dsn);
    }

    [Fact]
    public void ControlCharactersAreNotPassedToLogs()
    {
        Assert.Equal("550 bad?text", Parse("550 bad\u001btext").Text);
    }

    [Fact]
    public void LinesBeyondTheLimitAreDroppedButStillEndTheReply()
    {
        var r = new SmtpReply(2048, 3);
        for (int i = 0; i < 10; i++) Assert.False(r.AddLine(Encoding.ASCII.GetBytes($"250-line{i}")));
        Assert.True(r.AddLine("250 end"u8));
        Assert.Equal("250-line0 250-line1 250-line2", r.Text);
    }
}
