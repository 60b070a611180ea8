// cleanup(8)'s missing-header fixes for local submission.
using System.Text;
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;
using Xunit;

namespace Postfix.Tests.Cleanup;

public sealed class CleanupHeadersTests
{
    private static MessageBuilder Build(string content)
    {
        var m = new MessageBuilder(1_000_000) { QueueId = new QueueId(0xABCDEF012345) };
        m.SetSender("alice@example.org"u8);
        m.Content.Write(Encoding.ASCII.GetBytes(content));
        return m;
    }

    [Fact]
    public void MissingMessageIdDateAndFromAreAddedAfterReceived()
    {
        const string received = "Received: from x (unknown [127.0.0.1])\r\n\tby mx.example (Postfix) with ESMTP id ABCDEF012345;\r\n\tSat, 28 Nov 2026 10:00:00 +0000 (UTC)\r\n";
        using var m = Build(received + "Subject: hi\r\n\r\nbody\r\n");
        var id = CleanupHeaders.AddMissing(m, received.Length, "mx.example", new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
        var text = Encoding.ASCII.GetString(m.Content.Span);
        Assert.Equal("<20261128100000.ABCDEF012345@mx.example>", id);
        Assert.StartsWith(received + "Message-Id: <20261128100000.ABCDEF012345@mx.example>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000 (UTC)\r\nFrom: alice@example.org\r\nSubject: hi\r\n\r\nbody\r\n", text);
    }

    [Fact]
    public void PresentHeadersAreKeptAndNotDuplicated()
    {
        const string original = "From: A <a@x>\r\nDATE: Fri, 27 Nov 2026 01:02:03 +0000\r\nmessage-id:  <abc@x>\r\n\r\nFrom: not a header, body\r\n";
        using var m = Build(original);
        var id = CleanupHeaders.AddMissing(m, 0, "mx.example", DateTimeOffset.UtcNow);
        Assert.Equal("<abc@x>", id);
        Assert.Equal(original, Encoding.ASCII.GetString(m.Content.Span));
    }

    [Fact]
    public void HeadersInTheBodyDoNotCount()
    {
        var present = CleanupHeaders.Scan("Subject: a\r\n\r\nMessage-Id: <body@x>\r\nDate: x\r\n"u8, out int end, out _);
        Assert.Equal(HeaderPresence.None, present);
        Assert.Equal(12, end);
        Assert.Equal("<>", CleanupHeaders.MessageIdOf("Subject: a\r\n\r\nMessage-Id: <body@x>\r\n"u8));
    }

    [Fact]
    public void FoldedHeaderContinuationIsNotANewHeader()
    {
        var present = CleanupHeaders.Scan("Subject: a\r\n Date: folded\r\nFrom: f\r\n\r\n"u8, out _, out _);
        Assert.Equal(HeaderPresence.From, present);
    }
}
