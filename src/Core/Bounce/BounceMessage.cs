// bounce(8)'s notice builder (Postfix: bounce_notify_service.c, bounce_warn_service.c,
// bounce_trace_service.c and bounce_notify_util.c): turns a queued message and its
// recipients' delivery results into an RFC 3464 delivery status notification
// (multipart/report; report-type=delivery-status) ready for the queue. Rules:
//  - never bounce a bounce: a failure of null-sender mail goes to
//    2bounce_notice_recipient as a postmaster copy from double_bounce_sender, only when
//    notify_classes names bounce or 2bounce; delay and success notices of null-sender
//    mail, and anything about mail from double_bounce_sender, are not sent;
//  - RFC 3461 NOTIFY decides which recipients a notice reports (a postmaster copy
//    reports all); a notice with no recipient left is not sent;
//  - failure notices return what RET asks for (default the full message), delay and
//    success notices the headers; an original over bounce_size_limit is returned as
//    headers only (Postfix 2.5 and later, man 5 postconf bounce_size_limit).
// Our generated text is 7-bit (untrusted text is masked); only the returned original
// may carry 8-bit data, and then the notice declares 8bit. SMTPUTF8 (RFC 6533) is
// not supported: UTF-8 addresses are masked.
using System.Text;
using Postfix.Core.Cleanup;
using Postfix.Core.Delivery;
using Postfix.Core.Queue;

namespace Postfix.Core.Bounce;

public static class BounceMessage
{
    /// <summary>
    /// Builds the notice into <paramref name="into"/> (after <see cref="MessageBuilder.Reset"/>:
    /// envelope sender, one recipient, content, body type, arrival time; QueueId and the
    /// connection facts are left to the caller).
    /// </summary>
    /// <param name="results">The recipients to report; for Failure those that bounced (a
    /// Deferred result is reported as failed, e.g. past maximal_queue_lifetime), for Delay the
    /// Deferred ones, for Success the Sent ones. Other results are ignored.</param>
    /// <param name="recipient">Where the notice goes: the original sender, or the qualified
    /// 2bounce_notice_recipient for a double bounce.</param>
    /// <returns>False when no notice is to be sent; <paramref name="into"/> is then untouched.</returns>
    public static bool TryBuild(QueuedMessage original, IReadOnlyList<RecipientResult> results, BounceKind kind,
        BounceSettings s, DateTimeOffset now, MessageBuilder into, out string? recipient)
    {
        recipient = null;
        string doubleBounceSender = s.Qualify(s.DoubleBounceSender);
        if (original.Sender.Equals(doubleBounceSender, StringComparison.OrdinalIgnoreCase)
            || original.Sender.Equals(s.DoubleBounceSender, StringComparison.OrdinalIgnoreCase))
        {
            return false; // never a triple bounce
        }

        bool postmasterCopy = original.Sender.Length == 0;
        if (postmasterCopy && (kind != BounceKind.Failure || !s.NotifiesDoubleBounce)) return false;

        var reported = Select(results, kind, postmasterCopy);
        if (reported.Count == 0) return false;

        string destination = postmasterCopy ? s.Qualify(s.DoubleBounceRecipient) : original.Sender;
        var content = original.Content.Span;
        bool headersOnly = kind != BounceKind.Failure
            || (!postmasterCopy && original.Ret == DsnRet.Hdrs)
            || (s.BounceSizeLimit > 0 && content.Length > s.BounceSizeLimit);
        var returned = content;
        if (headersOnly)
        {
            HeaderSection.Find(content, out int headerLength);
            returned = content[..headerLength];
        }

        bool eightBit = returned.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0;

        into.Reset();
        into.SetSender(postmasterCopy ? Encoding.UTF8.GetBytes(doubleBounceSender) : []);
        into.AddRecipient(Encoding.UTF8.GetBytes(destination), [], DsnNotify.None);
        into.ArrivalUnixMs = now.ToUnixTimeMilliseconds();
        if (eightBit) into.BodyType = BodyType.EightBitMime;

        var w = new BounceWriter(into.Content);
        string boundary = Boundary(original, s, now, content);
        WriteHeaders(w, kind, s, now, destination, boundary, postmasterCopy, eightBit);
        WriteNotification(w, kind, s, reported, boundary, postmasterCopy);
        WriteDeliveryStatus(w, original, kind, s, reported, boundary);
        WriteOriginal(w, original, kind, returned, headersOnly, eightBit, boundary);

        recipient = destination;
        return true;
    }

    private static List<RecipientResult> Select(IReadOnlyList<RecipientResult> results, BounceKind kind, bool postmasterCopy)
    {
        var reported = new List<RecipientResult>(results.Count);
        foreach (var r in results)
        {
            bool statusMatches = kind switch
            {
                BounceKind.Failure => r.Status != DeliveryStatus.Sent,
                BounceKind.Delay => r.Status == DeliveryStatus.Deferred,
                _ => r.Status == DeliveryStatus.Sent,
            };
            if (statusMatches && (postmasterCopy || Wants(r.Recipient.Notify, kind))) reported.Add(r);
        }

        return reported;
    }

    /// <summary>RFC 3461 section 4.1: no NOTIFY means FAILURE,DELAY; NEVER means nothing.</summary>
    internal static bool Wants(DsnNotify notify, BounceKind kind)
    {
        if ((notify & DsnNotify.Never) != 0) return false;
        return kind switch
        {
            BounceKind.Failure => notify == DsnNotify.None || (notify & DsnNotify.Failure) != 0,
            BounceKind.Delay => notify == DsnNotify.None || (notify & DsnNotify.Delay) != 0,
            _ => (notify & DsnNotify.Success) != 0,
        };
    }

    /// <summary>Postfix's "queue_id.time/myhostname", made unique against the returned content.</summary>
    private static string Boundary(QueuedMessage original, BounceSettings s, DateTimeOffset now, ReadOnlySpan<byte> content)
    {
        string boundary = BounceWriter.Printable($"{original.Id}.{now.ToUnixTimeSeconds()}/{s.MyHostname}");
        while (content.IndexOf(Encoding.ASCII.GetBytes(boundary)) >= 0)
        {
            boundary += "." + Random.Shared.Next().ToString("X8");
        }

        return boundary;
    }

    private static void WriteHeaders(BounceWriter w, BounceKind kind, BounceSettings s, DateTimeOffset now,
        string destination, string boundary, bool postmasterCopy, bool eightBit)
    {
        w.Line($"Date: {BounceWriter.Date(now)}");
        w.Line($"From: {BounceTemplates.MailerDaemon}@{s.Origin}{BounceTemplates.FromComment}");
        w.Line($"Subject: {BounceTemplates.Subject(kind, postmasterCopy)}");
        w.Line($"To: {QuoteAddress(destination)}");
        w.Line($"Auto-Submitted: {(postmasterCopy ? "auto-generated" : "auto-replied")}");
        w.Line("MIME-Version: 1.0");
        w.Line("Content-Type: multipart/report; report-type=delivery-status;");
        w.Line($"\tboundary=\"{boundary}\"");
        w.Line($"Content-Transfer-Encoding: {(eightBit ? "8bit" : "7bit")}");
        w.Line($"Message-Id: <{now.ToUnixTimeSeconds()}.{Random.Shared.NextInt64():X16}@{s.MyHostname}>");
        w.Line();
        w.Line("This is a MIME-encapsulated message.");
        w.Line();
    }

    private static void WriteNotification(BounceWriter w, BounceKind kind, BounceSettings s,
        List<RecipientResult> reported, string boundary, bool postmasterCopy)
    {
        w.Line($"--{boundary}");
        w.Line("Content-Description: Notification");
        w.Line("Content-Type: text/plain; charset=us-ascii");
        w.Line();
        if (!postmasterCopy) BounceTemplates.WriteBody(w, kind, s);
        foreach (var r in reported)
        {
            w.Line();
            string reason = BounceWriter.Printable(r.Diagnostic).Trim();
            if (reason.Length == 0) reason = BounceTemplates.Action(kind);
            w.Wrapped($"<{BounceWriter.Printable(r.Recipient.Address)}>: {reason}");
        }

        w.Line();
    }

    private static void WriteDeliveryStatus(BounceWriter w, QueuedMessage original, BounceKind kind,
        BounceSettings s, List<RecipientResult> reported, string boundary)
    {
        string mailName = MailNameAtom(s.MailName);
        w.Line($"--{boundary}");
        w.Line("Content-Description: Delivery report");
        w.Line("Content-Type: message/delivery-status");
        w.Line();

        // RFC 3464 section 2.2: per-message fields.
        w.Line($"Reporting-MTA: dns; {s.MyHostname}");
        if (original.EnvId.Length > 0) w.Line($"Original-Envelope-Id: {BounceWriter.Printable(original.EnvId)}");
        w.Line($"X-{mailName}-Queue-ID: {original.Id}");
        string sender = original.Sender.Length > 0 ? original.Sender : BounceTemplates.MailerDaemon;
        w.Line($"X-{mailName}-Sender: rfc822; {BounceWriter.Printable(sender)}");
        if (original.ArrivalUnixMs > 0) w.Line($"Arrival-Date: {BounceWriter.Date(original.Arrival)}");

        // Section 2.3: per-recipient fields, each group after a blank line.
        foreach (var r in reported)
        {
            w.Line();
            w.Line($"Final-Recipient: rfc822; {BounceWriter.Printable(r.Recipient.Address)}");
            string? orcpt = OriginalRecipient(r.Recipient.Orcpt);
            if (orcpt is not null) w.Line($"Original-Recipient: {orcpt}");
            w.Line($"Action: {BounceTemplates.Action(kind)}");
            w.Line($"Status: {Status(r.Dsn, kind)}");
            string reason = BounceWriter.Printable(r.Diagnostic).Trim();
            if (reason.Length > 0)
            {
                var diagnostic = BounceDiagnostic.Parse(reason, mailName);
                if (diagnostic.RemoteMta is not null) w.Wrapped($"Remote-MTA: {diagnostic.RemoteMta}");
                w.Wrapped($"Diagnostic-Code: {diagnostic.Type}; {diagnostic.Text}");
            }

            if (kind == BounceKind.Delay)
            {
                w.Line($"Will-Retry-Until: {BounceWriter.Date(original.Arrival + s.MaximalQueueLifetime)}");
            }
        }

        w.Line();
    }

    private static void WriteOriginal(BounceWriter w, QueuedMessage original, BounceKind kind,
        ReadOnlySpan<byte> returned, bool headersOnly, bool eightBit, string boundary)
    {
        w.Line($"--{boundary}");
        string undelivered = kind == BounceKind.Success ? "" : "Undelivered ";
        w.Line($"Content-Description: {undelivered}{(headersOnly ? "Message Headers" : "Message")}");
        w.Line($"Content-Type: {(headersOnly ? "text/rfc822-headers" : "message/rfc822")}");
        if (eightBit) w.Line("Content-Transfer-Encoding: 8bit");
        w.Line();

        // cleanup removes Return-Path: on the way in; Postfix puts the envelope sender back here.
        w.Line($"Return-Path: <{BounceWriter.Printable(original.Sender)}>");
        w.Content(returned);
        w.Line();
        w.Line($"--{boundary}--");
    }

    /// <summary>The stored ORCPT ("rfc822;user@example") as "rfc822; user@example"; null when absent.</summary>
    private static string? OriginalRecipient(string orcpt)
    {
        if (string.IsNullOrWhiteSpace(orcpt)) return null;
        int semi = orcpt.IndexOf(';');
        string type = semi < 0 ? "rfc822" : orcpt[..semi].Trim();
        string address = (semi < 0 ? orcpt : orcpt[(semi + 1)..]).Trim();
        if (type.Length == 0 || address.Length == 0) return null;
        return BounceWriter.Printable($"{type}; {address}");
    }

    /// <summary>RFC 3463 status "class.subject.detail"; a malformed one is replaced by the kind's default.</summary>
    private static string Status(string dsn, BounceKind kind)
    {
        var parts = dsn.Split('.');
        bool valid = parts.Length == 3 && parts[0] is "2" or "4" or "5"
            && parts[1].Length is > 0 and <= 3 && parts[2].Length is > 0 and <= 3
            && parts[1].All(char.IsAsciiDigit) && parts[2].All(char.IsAsciiDigit);
        if (valid) return dsn;
        return kind switch
        {
            BounceKind.Failure => "5.0.0",
            BounceKind.Delay => "4.0.0",
            _ => "2.0.0",
        };
    }

    /// <summary>RFC 3464 diagnostic-type is an atom: Postfix turns specials in mail_name into '-'.</summary>
    private static string MailNameAtom(string mailName)
    {
        var chars = BounceWriter.Printable(mailName).ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (" ()<>@,;:\\\".[]".Contains(chars[i])) chars[i] = '-';
        }

        return chars.Length == 0 ? "Postfix" : new string(chars);
    }

    /// <summary>Postfix quote_822_local(): quotes a local part that is not a dot-atom.</summary>
    internal static string QuoteAddress(string address)
    {
        address = BounceWriter.Printable(address);
        int at = address.LastIndexOf('@');
        string local = at < 0 ? address : address[..at];
        string domain = at < 0 ? "" : address[at..];
        bool dotAtom = local.Length > 0 && local[0] != '.' && local[^1] != '.' && !local.Contains("..")
            && local.All(c => c > ' ' && c <= '~' && !"()<>@,;:\\\"[]".Contains(c));
        if (dotAtom) return address;
        return "\"" + local.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"" + domain;
    }
}
