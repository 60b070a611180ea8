// Postfix next-hop syntax as smtp(8) and lmtp(8) read it.
using Postfix.Protocols.Smtp;
using Xunit;

namespace Postfix.Tests.Smtp;

public sealed class SmtpNexthopTests
{
    [Theory]
    [InlineData("example.com", "example.com", 25, true, false)]
    [InlineData("example.com:587", "example.com", 587, true, false)]
    [InlineData("example.com:submission", "example.com", 587, true, false)]
    [InlineData("[mail.example.com]", "mail.example.com", 25, false, false)]
    [InlineData("[mail.example.com]:2525", "mail.example.com", 2525, false, false)]
    [InlineData("[192.0.2.1]", "192.0.2.1", 25, false, true)]
    [InlineData("[192.0.2.1]:2525", "192.0.2.1", 2525, false, true)]
    [InlineData("192.0.2.1:26", "192.0.2.1", 26, false, true)]
    [InlineData("[ipv6:2001:db8::1]:25", "2001:db8::1", 25, false, true)]
    [InlineData("[2001:db8::1]:26", "2001:db8::1", 26, false, true)]
    [InlineData("inet:[127.0.0.1]:10025", "127.0.0.1", 10025, false, true)]
    [InlineData(" Example.COM. ", "Example.COM.", 25, true, false)]
    public void SmtpDestinationsParse(string text, string host, int port, bool mx, bool literal)
    {
        Assert.True(SmtpNexthop.TryParse(text, 25, lmtp: false, out var hop, out var error), error);
        Assert.Equal(host, hop.Host);
        Assert.Equal(port, hop.Port);
        Assert.Equal(mx, hop.MxLookup);
        Assert.Equal(literal, hop.Literal != null);
    }

    [Theory]
    [InlineData("inet:localhost:24", "localhost", 24)]
    [InlineData("inet:mailbox.example:2003", "mailbox.example", 2003)]
    [InlineData("mailbox.example", "mailbox.example", 24)]
    [InlineData("inet:[10.0.0.1]", "10.0.0.1", 24)]
    public void LmtpDestinationsNeverUseMx(string text, string host, int port)
    {
        Assert.True(SmtpNexthop.TryParse(text, 24, lmtp: true, out var hop, out var error), error);
        Assert.Equal(host, hop.Host);
        Assert.Equal(port, hop.Port);
        Assert.False(hop.MxLookup);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("[host")]
    [InlineData("host]")]
    [InlineData("[host]x")]
    [InlineData("[host]:")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:notaport")]
    [InlineData("[]:25")]
    [InlineData("bad host:25")]
    [InlineData("-bad.example")]
    [InlineData("a..b")]
    [InlineData("999.1.1.1")]
    [InlineData("[ipv6:1.2.3.4]")]
    [InlineData("unix:/var/run/lmtp")]
    public void MalformedDestinationsAreErrorsNotExceptions(string text)
    {
        Assert.False(SmtpNexthop.TryParse(text, 25, lmtp: false, out var hop, out var error));
        Assert.Null(hop);
        Assert.StartsWith("bad destination syntax", error);
    }

    [Fact]
    public void CacheKeyDistinguishesMxFromBracketedAndIgnoresCase()
    {
        SmtpNexthop.TryParse("Example.com", 25, false, out var a, out _);
        SmtpNexthop.TryParse("example.COM:25", 25, false, out var b, out _);
        SmtpNexthop.TryParse("[example.com]", 25, false, out var c, out _);
        Assert.Equal(a!.CacheKey, b!.CacheKey);
        Assert.NotEqual(a.CacheKey, c!.CacheKey);
    }
}
