// Tests for BounceMessage: RFC 3464 notices as Postfix's bounce(8) writes them, parsed back
// with MimeKit; RFC 3461 NOTIFY/RET/ENVID handling, double bounces, bounce_size_limit,
// CRLF and 7-bit cleanliness, and that the result can be written to the queue.
using System.Text;
using MimeKit;
using MimeKit.Utils;
using Postfix.Core.Bounce;
using Postfix.Core.Queue;
using Xunit;
using static Postfix.Tests.Bounce.BounceFixture;

namespace Postfix.Tests.Bounce;

public sealed class BounceMessageTests
{
    [Fact]
    public void FailureNoticeIsMultipartReportWithThreeParts()
    {
        var bob = Rcpt(0, "bob@example.net");
        var notice = Build(Message([bob]), BounceKind.Failure, null, Bounced(bob));

        Assert.True(notice.Built);
        Assert.Equal("alice@example.org", notice.Recipient);
        var message = notice.Parse();
        Assert.Equal("Undelivered Mail Returned to Sender", message.Subject);
        Assert.Equal("MAILER-DAEMON@mx.example.org", Assert.Single(message.From.Mailboxes).Address);
        Assert.Equal("Mail Delivery System", Assert.Single(message.From.Mailboxes).Name);
        Assert.Equal("alice@example.org", Assert.Single(message.To.Mailboxes).Address);
        Assert.Equal("auto-replied", message.Headers["Auto-Submitted"]);
        Assert.Equal(Now, message.Date);
        Assert.EndsWith("@mx.example.org", message.MessageId);

        var report = notice.Report();
        Assert.Equal("delivery-status", report.ReportType);
        Assert.Equal(3, report.Count);
        var text = Assert.IsType<TextPart>(report[0]);
        Assert.True(text.IsPlain);
        Assert.Contains("\r\n\r\nThis is the mail system at host mx.example.org.\r\n\r\nI'm sorry to have to inform you that your message could not\r\n", notice.Text);
        Assert.Contains("<bob@example.net>: host mx.example.net[192.0.2.25] said: 550 5.1.1", text.Text);
        Assert.IsType<MessageDeliveryStatus>(report[1]);
        var returned = Assert.IsType<MessagePart>(report[2]);
        Assert.Equal("message/rfc822", returned.ContentType.MimeType);
        var original = Assert.IsType<MimeMessage>(returned.Message);
        Assert.Equal("hello", original.Subject);
        Assert.Contains("body line 2", original.TextBody);
        Assert.Equal("<alice@example.org>", original.Headers["Return-Path"]);
    }

    [Fact]
    public void EnvelopeIsNullSenderToOriginalSender()
    {
        var bob = Rcpt(0, "bob@example.net");
        var notice = Build(Message([bob]), BounceKind.Failure, null, Bounced(bob));

        Assert.True(notice.Builder.HasSender);
        Assert.Equal(0, notice.Builder.Sender.Length);
        Assert.Equal(1, notice.Builder.RecipientCount);
        Assert.Equal(BodyType.None, notice.Builder.BodyType);

        // The builder writes as a queue record and reads back as a queued message.
        notice.Builder.QueueId = new QueueId(0x123);
        var record = new byte[QueueFile.MessageLength(notice.Builder)];
        QueueFile.WriteMessage(notice.Builder, record);
        Assert.True(QueueFile.TryReadMessage(record, out var queued));
        Assert.Equal("", queued!.Sender);
        Assert.Equal("alice@example.org", Assert.Single(queued.Recipients).Address);
        Assert.Equal(Now.ToUnixTimeMilliseconds(), queued.ArrivalUnixMs);
    }

    [Fact]
    public void DeliveryStatusHasPerMessageAndPerRecipientFields()
    {
        var bob = Rcpt(0, "bob@example.net", DsnNotify.Failure, "rfc822;Bob@Example.NET");
        var carol = Rcpt(1, "carol@example.net");
        var status = Build(Message([bob, carol]), BounceKind.Failure, null,
            Bounced(bob), Bounced(carol, "mail for example.net loops back to myself")).Status();

        Assert.Equal(3, status.StatusGroups.Count);
        var perMessage = status.StatusGroups[0];
        Assert.Equal("dns; mx.example.org", perMessage["Reporting-MTA"]);
        Assert.Equal("4C3B2A190807", perMessage["X-Postfix-Queue-ID"]);
        Assert.Equal("rfc822; alice@example.org", perMessage["X-Postfix-Sender"]);
        Assert.Equal(Arrival, DateUtils.TryParse(perMessage["Arrival-Date"], out var arrival) ? arrival : default);
        Assert.Null(perMessage["Original-Envelope-Id"]);

        var first = status.StatusGroups[1];
        Assert.Equal("rfc822; bob@example.net", first["Final-Recipient"]);
        Assert.Equal("rfc822; Bob@Example.NET", first["Original-Recipient"]);
        Assert.Equal("failed", first["Action"]);
        Assert.Equal("5.1.1", first["Status"]);
        Assert.Equal("dns; mx.example.net", first["Remote-MTA"]);
        Assert.Equal("smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown",
            Unfold(first["Diagnostic-Code"]));
        Assert.Null(first["Will-Retry-Until"]);

        var second = status.StatusGroups[2];
        Assert.Equal("rfc822; carol@example.net", second["Final-Recipient"]);
        Assert.Null(second["Original-Recipient"]);
        Assert.Null(second["Remote-MTA"]);
        Assert.Equal("X-Postfix; mail for example.net loops back to myself", second["Diagnostic-Code"]);
    }

    [Fact]
    public void OriginalEnvelopeIdIsReportedWhenEnvIdWasGiven()
    {
        var bob = Rcpt(0, "bob@example.net");
        var status = Build(Message([bob], envId: "QQ314159"), BounceKind.Failure, null, Bounced(bob)).Status();

        Assert.Equal("QQ314159", status.StatusGroups[0]["Original-Envelope-Id"]);
    }

    [Fact]
    public void RetHdrsReturnsOnlyTheHeaders()
    {
        var bob = Rcpt(0, "bob@example.net");
        var notice = Build(Message([bob], ret: DsnRet.Hdrs), BounceKind.Failure, null, Bounced(bob));

        var returned = notice.Report()[2];
        Assert.Equal("text/rfc822-headers", returned.ContentType.MimeType);
        Assert.Equal("Undelivered Message Headers", returned.Headers[HeaderId.ContentDescription]);
        Assert.Contains("Subject: hello\r\n", notice.Text);
        Assert.DoesNotContain("body line", notice.Text);
    }

    [Fact]
    public void OriginalOverBounceSizeLimitIsReturnedAsHeadersOnly()
    {
        var bob = Rcpt(0, "bob@example.net");
        string big = Content + string.Concat(Enumerable.Repeat("0123456789 abcdefghijklmnopqrstuvwxyz 0123456789\r\n", 40));
        var settings = Settings(bounceSizeLimit: 1000);

        var cut = Build(Message([bob], content: big), BounceKind.Failure, settings, Bounced(bob));
        Assert.Equal("text/rfc822-headers", cut.Report()[2].ContentType.MimeType);
        Assert.DoesNotContain("abcdefghijklmnopqrstuvwxyz", cut.Text);
        Assert.True(cut.Bytes.Length < 4000);

        var whole = Build(Message([bob]), BounceKind.Failure, settings, Bounced(bob));
        Assert.Equal("message/rfc822", whole.Report()[2].ContentType.MimeType);
        Assert.Contains("body line 2", whole.Text);

        var unlimited = Build(Message([bob], content: big), BounceKind.Failure, Settings(bounceSizeLimit: 0), Bounced(bob));
        Assert.Equal("message/rfc822", unlimited.Report()[2].ContentType.MimeType);
    }

    [Fact]
    public void NotifyNeverRecipientIsExcluded()
    {
        var bob = Rcpt(0, "bob@example.net", DsnNotify.Never);
        var carol = Rcpt(1, "carol@example.net");
        var status = Build(Message([bob, carol]), BounceKind.Failure, null, Bounced(bob), Bounced(carol)).Status();

        Assert.Equal(2, status.StatusGroups.Count);
        Assert.Equal("rfc822; carol@example.net", status.StatusGroups[1]["Final-Recipient"]);

        var none = Build(Message([bob]), BounceKind.Failure, null, Bounced(bob));
        Assert.False(none.Built);
        Assert.Null(none.Recipient);
        Assert.Equal(0, none.Builder.Content.Length);
    }

    [Fact]
    public void NotifySuccessOnlyRecipientGetsASuccessReportAndNoFailureReport()
    {
        var bob = Rcpt(0, "bob@example.net", DsnNotify.Success);

        Assert.False(Build(Message([bob]), BounceKind.Failure, null, Bounced(bob)).Built);
        Assert.False(Build(Message([bob]), BounceKind.Delay, null, Deferred(bob)).Built);

        var notice = Build(Message([bob]), BounceKind.Success, null, Sent(bob));
        Assert.True(notice.Built);
        Assert.Equal("Successful Mail Delivery Report", notice.Parse().Subject);
        var group = notice.Status().StatusGroups[1];
        Assert.Equal("delivered", group["Action"]);
        Assert.Equal("2.0.0", group["Status"]);
        Assert.Equal("X-Postfix; delivered to mailbox", group["Diagnostic-Code"]);
        var returned = notice.Report()[2];
        Assert.Equal("text/rfc822-headers", returned.ContentType.MimeType);
        Assert.Equal("Message Headers", returned.Headers[HeaderId.ContentDescription]);
        Assert.Contains("Your message was successfully delivered", ((TextPart)notice.Report()[0]).Text);
    }

    [Fact]
    public void RecipientWithoutNotifySuccessGetsNoSuccessReport()
    {
        var bob = Rcpt(0, "bob@example.net");
        var carol = Rcpt(1, "carol@example.net", DsnNotify.Success | DsnNotify.Failure);
        var status = Build(Message([bob, carol]), BounceKind.Success, null, Sent(bob), Sent(carol)).Status();

        Assert.Equal("rfc822; carol@example.net", Assert.Single(status.StatusGroups.Skip(1))["Final-Recipient"]);
        Assert.False(Build(Message([bob]), BounceKind.Success, null, Sent(bob)).Built);
    }

    [Fact]
    public void FailureReportLeavesOutDeliveredRecipients()
    {
        var bob = Rcpt(0, "bob@example.net");
        var carol = Rcpt(1, "carol@example.net");
        var status = Build(Message([bob, carol]), BounceKind.Failure, null, Sent(bob), Bounced(carol)).Status();

        Assert.Equal("rfc822; carol@example.net", Assert.Single(status.StatusGroups.Skip(1))["Final-Recipient"]);
    }

    [Fact]
    public void DelayNoticeReportsDelayAndDefaultNotifyRecipients()
    {
        var bob = Rcpt(0, "bob@example.net");
        var carol = Rcpt(1, "carol@example.net", DsnNotify.Failure);
        var dave = Rcpt(2, "dave@example.net", DsnNotify.Delay | DsnNotify.Failure);
        var notice = Build(Message([bob, carol, dave]), BounceKind.Delay, null, Deferred(bob), Deferred(carol), Deferred(dave));

        Assert.True(notice.Built);
        Assert.Equal("Delayed Mail (still being retried)", notice.Parse().Subject);
        var text = ((TextPart)notice.Report()[0]).Text;
        Assert.Contains("# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #", text);
        Assert.Contains("Your message could not be delivered for more than 4 hour(s).", text);
        Assert.Contains("It will be retried until it is 5 day(s) old.", text);

        var groups = notice.Status().StatusGroups;
        Assert.Equal(3, groups.Count);
        Assert.Equal("rfc822; bob@example.net", groups[1]["Final-Recipient"]);
        Assert.Equal("rfc822; dave@example.net", groups[2]["Final-Recipient"]);
        Assert.Equal("delayed", groups[1]["Action"]);
        Assert.Equal("4.4.1", groups[1]["Status"]);
        Assert.True(DateUtils.TryParse(groups[1]["Will-Retry-Until"], out var until));
        Assert.Equal(Arrival.AddDays(5), until);
        Assert.Equal("text/rfc822-headers", notice.Report()[2].ContentType.MimeType);
    }

    [Fact]
    public void NullSenderFailureGoesToPostmasterAsDoubleBounce()
    {
        var bob = Rcpt(0, "bob@example.net", DsnNotify.Never);
        var settings = Settings(notifyClasses: ["resource", "software", "2bounce"]);
        var notice = Build(Message([bob], sender: "", ret: DsnRet.Hdrs), BounceKind.Failure, settings, Bounced(bob));

        Assert.True(notice.Built);
        Assert.Equal("postmaster@mx.example.org", notice.Recipient);
        Assert.Equal("double-bounce@mx.example.org", Encoding.UTF8.GetString(notice.Builder.Sender));
        var message = notice.Parse();
        Assert.Equal("Postmaster Copy: Undelivered Mail", message.Subject);
        Assert.Equal("postmaster@mx.example.org", Assert.Single(message.To.Mailboxes).Address);
        Assert.Equal("auto-generated", message.Headers["Auto-Submitted"]);
        Assert.Contains("Content-Type: text/plain; charset=us-ascii\r\n\r\n\r\n<bob@example.net>: host mx.example.net[192.0.2.25] said: 550 5.1.1\r\n    <bob@example.net>: Recipient address rejected: User unknown (in reply to\r\n    RCPT TO command)\r\n\r\n--",
            notice.Text);
        Assert.Equal("rfc822; MAILER-DAEMON", notice.Status().StatusGroups[0]["X-Postfix-Sender"]);
        // A postmaster copy returns the whole message and reports every recipient.
        Assert.Equal("message/rfc822", notice.Report()[2].ContentType.MimeType);
        Assert.Equal("rfc822; bob@example.net", notice.Status().StatusGroups[1]["Final-Recipient"]);
    }

    [Fact]
    public void NullSenderFailureIsDroppedUnlessNotifyClassesAsksForIt()
    {
        var bob = Rcpt(0, "bob@example.net");
        Assert.False(Build(Message([bob], sender: ""), BounceKind.Failure, null, Bounced(bob)).Built);
        Assert.True(Build(Message([bob], sender: ""), BounceKind.Failure, Settings(notifyClasses: ["bounce"]), Bounced(bob)).Built);
    }

    [Fact]
    public void NullSenderDelayAndSuccessNoticesAreNotSent()
    {
        var bob = Rcpt(0, "bob@example.net", DsnNotify.Success | DsnNotify.Delay);
        var settings = Settings(notifyClasses: ["2bounce", "delay"]);

        Assert.False(Build(Message([bob], sender: ""), BounceKind.Delay, settings, Deferred(bob)).Built);
        Assert.False(Build(Message([bob], sender: ""), BounceKind.Success, settings, Sent(bob)).Built);
    }

    [Theory]
    [InlineData("double-bounce@mx.example.org")]
    [InlineData("Double-Bounce@MX.example.org")]
    [InlineData("double-bounce")]
    public void MailFromDoubleBounceSenderIsNeverBounced(string sender)
    {
        var bob = Rcpt(0, "bob@example.net");
        var settings = Settings(notifyClasses: ["2bounce", "bounce"]);
        Assert.False(Build(Message([bob], sender: sender), BounceKind.Failure, settings, Bounced(bob)).Built);
    }

    [Fact]
    public void EveryLineEndsWithCrlf()
    {
        var bob = Rcpt(0, "bob@example.net", orcpt: "rfc822;bob@example.net");
        string bareNewlines = "Subject: bare\nFrom: a@example.org\r\n\nline one\rline two\n\nlast line without end";
        var notices = new[]
        {
            Build(Message([bob], envId: "E1"), BounceKind.Failure, null, Bounced(bob)),
            Build(Message([bob], content: bareNewlines), BounceKind.Failure, null, Bounced(bob)),
            Build(Message([bob], content: bareNewlines, ret: DsnRet.Hdrs), BounceKind.Failure, null, Bounced(bob)),
            Build(Message([bob]), BounceKind.Delay, null, Deferred(bob)),
            Build(Message([bob with { Notify = DsnNotify.Success }]), BounceKind.Success, null, Sent(bob with { Notify = DsnNotify.Success })),
        };

        foreach (var notice in notices)
        {
            Assert.True(notice.Built);
            var bytes = notice.Bytes;
            Assert.Equal((byte)'\n', bytes[^1]);
            for (int i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] == '\n') Assert.True(i > 0 && bytes[i - 1] == '\r', $"bare LF at {i}");
                if (bytes[i] == '\r') Assert.True(i + 1 < bytes.Length && bytes[i + 1] == '\n', $"bare CR at {i}");
            }
        }

        Assert.Contains("line one\r\nline two\r\n\r\nlast line without end\r\n", notices[1].Text);
    }

    [Fact]
    public void LongLinesAreWrappedAt79Columns()
    {
        var bob = Rcpt(0, "bob@example.net");
        string reply = "host mx.example.net[192.0.2.25] said: 550-5.7.1 " + string.Join(' ', Enumerable.Repeat("policy", 40))
            + " (in reply to end of DATA command)";
        var notice = Build(Message([bob]), BounceKind.Failure, null, Bounced(bob, reply));

        string generated = notice.Text[..notice.Text.IndexOf("Content-Description: Undelivered Message", StringComparison.Ordinal)];
        Assert.All(generated.Split("\r\n"), line => Assert.True(line.Length <= 79, line));
        Assert.Equal("smtp; 550-5.7.1 " + string.Join(' ', Enumerable.Repeat("policy", 40)),
            Unfold(notice.Status().StatusGroups[1]["Diagnostic-Code"]));
    }

    [Fact]
    public void GeneratedPartsAreSevenBitAndAnEightBitOriginalIsDeclared()
    {
        var bob = Rcpt(0, "b\u00f6b@example.net");
        string content = "Subject: caf\u00e9\r\n\r\nna\u00efve body\r\n";
        var notice = Build(Message([bob], content: content), BounceKind.Failure, null,
            Bounced(bob, "host mx.example.net[192.0.2.25] said: 550 unknown user b\u00f6b\u0007 (in reply to RCPT TO command)"));

        Assert.Equal(BodyType.EightBitMime, notice.Builder.BodyType);
        var message = notice.Parse();
        Assert.Equal("8bit", message.Body.Headers[HeaderId.ContentTransferEncoding]);
        Assert.Contains("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n", notice.Text);

        var bytes = notice.Bytes;
        int original = notice.Text.IndexOf("Return-Path:", StringComparison.Ordinal);
        Assert.All(bytes[..original], b => Assert.True(b < 0x80));
        Assert.Equal("smtp; 550 unknown user b?b?", notice.Status().StatusGroups[1]["Diagnostic-Code"]);
        Assert.Equal("rfc822; b?b@example.net", notice.Status().StatusGroups[1]["Final-Recipient"]);

        var plain = Build(Message([Rcpt(0, "bob@example.net")]), BounceKind.Failure, null, Bounced(Rcpt(0, "bob@example.net")));
        Assert.Equal(BodyType.None, plain.Builder.BodyType);
        Assert.Equal("7bit", plain.Parse().Body.Headers[HeaderId.ContentTransferEncoding]);
        Assert.All(plain.Bytes, b => Assert.True(b < 0x80));
    }

    [Fact]
    public void BoundaryIsQueueIdTimeAndHostnameAndAvoidsTheOriginal()
    {
        var bob = Rcpt(0, "bob@example.net");
        string expected = $"4C3B2A190807.{Now.ToUnixTimeSeconds()}/mx.example.org";
        var notice = Build(Message([bob]), BounceKind.Failure, null, Bounced(bob));
        Assert.Equal(expected, notice.Report().Boundary);

        string hostile = Content + "--" + expected + "--\r\n";
        var report = Build(Message([bob], content: hostile), BounceKind.Failure, null, Bounced(bob)).Report();
        Assert.StartsWith(expected + ".", report.Boundary);
        Assert.Equal(3, report.Count);
    }

    [Theory]
    [InlineData("alice@example.org", "alice@example.org")]
    [InlineData("first.last@example.org", "first.last@example.org")]
    [InlineData("john smith@example.org", "\"john smith\"@example.org")]
    [InlineData(".dot@example.org", "\".dot\"@example.org")]
    [InlineData("a\"b@example.org", "\"a\\\"b\"@example.org")]
    public void ToHeaderQuotesLocalPartLikeQuote822Local(string address, string expected)
    {
        Assert.Equal(expected, BounceMessage.QuoteAddress(address));
    }

    private static string Unfold(string? value) =>
        string.Join(' ', (value ?? "").Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
}
