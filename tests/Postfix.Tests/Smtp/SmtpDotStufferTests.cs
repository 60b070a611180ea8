// Client-side dot-stuffing (RFC 5321 section 4.5.2) as a chunked state
// machine: the same wire bytes for every input split point and every output
// buffer size, and the right end-of-data marker.
using System.Text;
using Postfix.Protocols.Smtp;
using Xunit;

namespace Postfix.Tests.Smtp;

public sealed class SmtpDotStufferTests
{
    public static TheoryData<string, string> Cases => new()
    {
        { "", ".\r\n" },
        { "a\r\n", "a\r\n.\r\n" },
        { ".\r\n", "..\r\n.\r\n" },
        { ".leading\r\nmiddle.\r\n..two\r\n", "..leading\r\nmiddle.\r\n...two\r\n.\r\n" },
        { "no final newline", "no final newline\r\n.\r\n" },
        { "x\r\n.", "x\r\n..\r\n.\r\n" },
        { "a\r\n.\r\n.\r\nb\r\n", "a\r\n..\r\n..\r\nb\r\n.\r\n" },
        { "bare\n.lf\r\n", "bare\n..lf\r\n.\r\n" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void StuffsAtEverySplitPointAndBufferSize(string input, string expected)
    {
        var src = Encoding.ASCII.GetBytes(input);
        for (int split = 0; split <= src.Length; split++)
            for (int outSize = 2; outSize <= src.Length * 2 + 2; outSize++)
                Assert.Equal(expected, Run(src, split, outSize));
    }

    private static string Run(byte[] src, int split, int outSize)
    {
        var stuffer = new SmtpDotStuffer();
        var output = new List<byte>();
        var buf = new byte[outSize];
        foreach (var part in new[] { src.AsSpan(0, split).ToArray(), src.AsSpan(split).ToArray() })
        {
            int pos = 0;
            while (pos < part.Length)
            {
                stuffer.Transform(part.AsSpan(pos), buf, out int consumed, out int written);
                Assert.True(consumed > 0 || written > 0, "no progress");
                pos += consumed;
                output.AddRange(buf.AsSpan(0, written).ToArray());
            }
        }
        output.AddRange(stuffer.Terminator.ToArray());
        return Encoding.ASCII.GetString(output.ToArray());
    }

    [Fact]
    public void LargeContentWithoutDotsIsCopiedWhole()
    {
        var src = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("line of text\r\n", 1000)));
        var stuffer = new SmtpDotStuffer();
        var buf = new byte[src.Length];
        stuffer.Transform(src, buf, out int consumed, out int written);
        Assert.Equal(src.Length, consumed);
        Assert.Equal(src, buf);
        Assert.True(stuffer.AtLineStart);
    }
}
