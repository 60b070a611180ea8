// Tests for HeaderSection.Find: where the RFC 5322 header section of queued content ends,
// with folded headers, bare LF, missing separators and content that is all headers or all body.
using System.Text;
using Postfix.Core.Bounce;
using Xunit;

namespace Postfix.Tests.Bounce;

public sealed class HeaderSectionTests
{
    [Theory]
    [InlineData("Subject: a\r\nTo: b\r\n\r\nbody\r\n", true, 19)]
    [InlineData("Subject: a\r\n\tfolded\r\nTo: b\r\n\r\n", true, 28)]
    [InlineData("Subject: a\nTo: b\n\nbody\n", true, 17)]
    [InlineData("Subject : obsolete blank before colon\r\n\r\n", true, 39)]
    [InlineData("\r\nbody only\r\n", true, 0)]
    [InlineData("Subject: a\r\nTo: b\r\n", false, 19)]
    [InlineData("Subject: a\r\nTo: b", false, 17)]
    [InlineData("Subject: a\r\nnot a header line\r\n", false, 12)]
    [InlineData("Subject: a\r\n: empty name\r\n", false, 12)]
    [InlineData(" leading blank\r\n\r\n", false, 0)]
    [InlineData("", false, 0)]
    public void FindsTheEndOfTheHeaders(string content, bool separated, int length)
    {
        Assert.Equal(separated, HeaderSection.Find(Encoding.ASCII.GetBytes(content), out int headerLength));
        Assert.Equal(length, headerLength);
    }

    [Fact]
    public void EveryPrefixStopsWithinTheHeaders()
    {
        // Content cut anywhere never yields more header bytes than the whole content has,
        // and once the separator is in, the answer is the whole content's.
        var content = Encoding.ASCII.GetBytes("Received: x\r\n\ty\r\nSubject: s\r\n\r\nbody: not a header\r\n");
        Assert.True(HeaderSection.Find(content, out int full));
        Assert.Equal(29, full);
        for (int i = 0; i <= content.Length; i++)
        {
            bool separated = HeaderSection.Find(content.AsSpan(0, i), out int prefix);
            Assert.True(prefix <= Math.Min(i, full), $"prefix {i}: {prefix}");
            if (i >= full + 2) Assert.True(separated && prefix == full, $"prefix {i}");
        }
    }
}
