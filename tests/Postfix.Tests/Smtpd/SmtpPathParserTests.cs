// Tests for SmtpPathParser (RFC 5321 4.1.2 Path / Mail-parameters, RFC 6531
// SMTPUTF8, RFC 3461 xtext): the forms Postfix tolerates with
// strict_rfc821_envelopes=no, source routes, quoting, and the rejections that
// protect later stages (control characters, unbalanced quotes, overlong paths,
// 8-bit without SMTPUTF8, malformed UTF-8).
using System.Text;
using Postfix.Protocols.Smtpd;
using Xunit;

namespace Postfix.Tests.Smtpd;

public sealed class SmtpPathParserTests
{
    [Theory]
    [InlineData("FROM:<a@b>", "a@b", "")]
    [InlineData("from:<a@b>", "a@b", "")]
    [InlineData("FROM: <a@b>", "a@b", "")]
    [InlineData("FROM:   <a@b>", "a@b", "")]
    [InlineData("FROM:a@b", "a@b", "")]
    [InlineData("FROM:a@b SIZE=10", "a@b", "SIZE=10")]
    [InlineData("FROM:<>", "", "")]
    [InlineData("FROM:<> BODY=8BITMIME", "", "BODY=8BITMIME")]
    [InlineData("FROM:<a@b>  SIZE=10  BODY=7BIT  ", "a@b", "SIZE=10  BODY=7BIT")]
    [InlineData("FROM:<@x,@y:u@d>", "u@d", "")]
    [InlineData("FROM:<@x:u@d>", "u@d", "")]
    [InlineData("FROM:<\"a>b\"@d>", "\"a>b\"@d", "")]
    [InlineData("FROM:<\"a b\"@d>", "\"a b\"@d", "")]
    [InlineData("FROM:<\"a<b\"@d>", "\"a<b\"@d", "")]
    [InlineData("FROM:<a\\>b@d>", "a\\>b@d", "")]
    [InlineData("FROM:<postmaster>", "postmaster", "")]
    public void AcceptedForms(string args, string address, string parameters)
    {
        var status = SmtpPathParser.TryParse(Encoding.ASCII.GetBytes(args), "FROM:"u8, out var a, out var p);
        Assert.Equal(PathStatus.Ok, status);
        Assert.Equal(address, Encoding.ASCII.GetString(a));
        Assert.Equal(parameters, Encoding.ASCII.GetString(p));
    }

    [Fact]
    public void RcptUsesTheToKeyword()
    {
        Assert.Equal(PathStatus.Ok, SmtpPathParser.TryParse("to:<c@d> NOTIFY=NEVER"u8, "TO:"u8, out var a, out var p));
        Assert.Equal("c@d", Encoding.ASCII.GetString(a));
        Assert.Equal("NOTIFY=NEVER", Encoding.ASCII.GetString(p));
        Assert.Equal(PathStatus.Syntax, SmtpPathParser.TryParse("FROM:<c@d>"u8, "TO:"u8, out _, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("FROM")]
    [InlineData("FROM <a@b>")]
    [InlineData("FROM:")]
    [InlineData("FROM:   ")]
    [InlineData("TO:<a@b>")]
    public void MissingKeywordOrAddressIsSyntax(string args)
    {
        Assert.Equal(PathStatus.Syntax, SmtpPathParser.TryParse(Encoding.ASCII.GetBytes(args), "FROM:"u8, out _, out _));
    }

    [Theory]
    [InlineData("FROM:<a@b")]
    [InlineData("FROM:<a@b>x")]
    [InlineData("FROM:<a<b>")]
    [InlineData("FROM:a>b")]
    [InlineData("FROM:a<b@c")]
    [InlineData("FROM:<\"ab@d>")]
    [InlineData("FROM:<a\"b@d>")]
    [InlineData("FROM:<a\u0001b@d>")]
    [InlineData("FROM:<a\tb@d>")]
    [InlineData("FROM:<a\u007fb@d>")]
    [InlineData("FROM:<a b@d>")]
    [InlineData("FROM:<a,b@d>")]
    [InlineData("FROM:<a;b@d>")]
    [InlineData("FROM:<a(b)@d>")]
    [InlineData("FROM:<@x,@y>")]
    public void HarmfulAddressesAreBadAddress(string args)
    {
        Assert.Equal(PathStatus.BadAddress, SmtpPathParser.TryParse(Encoding.ASCII.GetBytes(args), "FROM:"u8, out _, out _));
    }

    [Fact]
    public void PathOf256IsAcceptedAnd257IsBadAddress()
    {
        string atLimit = new string('a', 256 - 2) + "@b";
        Assert.Equal(PathStatus.Ok, SmtpPathParser.TryParse(Encoding.ASCII.GetBytes($"FROM:<{atLimit}>"), "FROM:"u8, out var a, out _));
        Assert.Equal(256, a.Length);

        string over = "a" + atLimit;
        Assert.Equal(PathStatus.BadAddress, SmtpPathParser.TryParse(Encoding.ASCII.GetBytes($"FROM:<{over}>"), "FROM:"u8, out _, out _));
        Assert.Equal(PathStatus.BadAddress, SmtpPathParser.TryParse(Encoding.ASCII.GetBytes($"FROM:{over}"), "FROM:"u8, out _, out _));
        Assert.Equal(PathStatus.BadAddress, SmtpPathParser.TryParse(Encoding.ASCII.GetBytes($"FROM:<{new string('a', 5000)}@b>"), "FROM:"u8, out _, out _));
    }

    [Theory]
    [InlineData("FROM:<用户@例子.广告>", "用户@例子.广告")]
    [InlineData("FROM:<jörg@example.de> SMTPUTF8", "jörg@example.de")]
    [InlineData("FROM:<@relay.example:jörg@example.de>", "jörg@example.de")]
    public void Utf8AddressNeedsSmtpUtf8(string args, string address)
    {
        var status = SmtpPathParser.TryParse(Encoding.UTF8.GetBytes(args), "FROM:"u8, out var a, out _);
        Assert.Equal(PathStatus.NeedsSmtpUtf8, status);
        Assert.Equal(address, Encoding.UTF8.GetString(a));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC3 })]              // truncated two-byte sequence
    [InlineData(new byte[] { 0xC0, 0xAF })]        // overlong '/'
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]  // UTF-16 surrogate
    [InlineData(new byte[] { 0x80, 0x80 })]        // lone continuation bytes
    public void InvalidUtf8IsBadUtf8(byte[] bad)
    {
        byte[] args = [.. "FROM:<a"u8, .. bad, .. "@b>"u8];
        Assert.Equal(PathStatus.BadUtf8, SmtpPathParser.TryParse(args, "FROM:"u8, out _, out _));
    }

    [Fact]
    public void NextParameterEnumeratesKeysAndValues()
    {
        ReadOnlySpan<byte> parameters = "SIZE=1000  BODY=8BITMIME SMTPUTF8 ENVID=a+2Bb= RET=HDRS"u8;
        var seen = new List<(string, string)>();
        while (SmtpPathParser.NextParameter(ref parameters, out var key, out var value))
            seen.Add((Encoding.ASCII.GetString(key), Encoding.ASCII.GetString(value)));
        Assert.Equal(
            [("SIZE", "1000"), ("BODY", "8BITMIME"), ("SMTPUTF8", ""), ("ENVID", "a+2Bb="), ("RET", "HDRS")],
            seen);
        Assert.True(parameters.IsEmpty);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void NextParameterOnNothingReturnsFalse(string text)
    {
        ReadOnlySpan<byte> parameters = Encoding.ASCII.GetBytes(text);
        Assert.False(SmtpPathParser.NextParameter(ref parameters, out _, out _));
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("abc", true)]
    [InlineData("rfc822;a@b.example", true)]
    [InlineData("a+2Bb", true)]
    [InlineData("+3D", true)]
    [InlineData("a+20+2B", true)]
    [InlineData("!~", true)]
    [InlineData("a+2b", false)]   // hex must be upper case
    [InlineData("a+2", false)]
    [InlineData("a+", false)]
    [InlineData("+", false)]
    [InlineData("a+GG", false)]
    [InlineData("a=b", false)]
    [InlineData("a b", false)]
    [InlineData("a\u007fb", false)]
    [InlineData("a\u0001b", false)]
    [InlineData("é", false)]
    public void IsXtextFollowsRfc3461(string text, bool expected)
    {
        Assert.Equal(expected, SmtpPathParser.IsXtext(Encoding.UTF8.GetBytes(text)));
    }

    [Theory]
    [InlineData("0", true, 0L)]
    [InlineData("10240000", true, 10240000L)]
    [InlineData("999999999999999999", true, 999999999999999999L)]
    [InlineData("1000000000000000000", false, 0L)]
    [InlineData("", false, 0L)]
    [InlineData("-1", false, 0L)]
    [InlineData("1e3", false, 0L)]
    [InlineData(" 1", false, 0L)]
    public void TryParseDecimalIsBounded(string text, bool ok, long value)
    {
        Assert.Equal(ok, SmtpPathParser.TryParseDecimal(Encoding.ASCII.GetBytes(text), out long v));
        if (ok) Assert.Equal(value, v);
    }
}
