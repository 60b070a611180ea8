// cleanup(8)'s header fixes for locally submitted mail (Postfix: the
// "local" rewrite context: sendmail/pickup, and SMTP clients matching
// local_header_rewrite_clients; or always_add_missing_headers = yes): a
// missing Message-Id:, Date: or From: is added. The scan reads the header
// section once, in place; the message content is untrusted.
using System.Text;
using Postfix.Core.Util;

namespace Postfix.Core.Cleanup;

[Flags]
public enum HeaderPresence : byte
{
    None = 0,
    MessageId = 1,
    Date = 2,
    From = 4,
}

public static class CleanupHeaders
{
    /// <summary>Which of Message-Id/Date/From the header section holds, and where it ends (the blank line, or content end).</summary>
    public static HeaderPresence Scan(ReadOnlySpan<byte> content, out int headerEnd, out Range messageId)
    {
        var found = HeaderPresence.None;
        messageId = default;
        int pos = 0;
        while (pos < content.Length)
        {
            int nl = content[pos..].IndexOf((byte)'\n');
            int lineEnd = nl < 0 ? content.Length : pos + nl + 1;
            var line = content[pos..lineEnd];
            if (line.Length == 0 || line[0] == (byte)'\r' || line[0] == (byte)'\n') { headerEnd = pos; return found; }
            if (line[0] != (byte)' ' && line[0] != (byte)'\t')
            {
                int colon = line.IndexOf((byte)':');
                if (colon <= 0) { headerEnd = pos; return found; } // not a header: body starts here
                var name = line[..colon].TrimEnd((byte)' ');
                if (Ascii.EqualsIgnoreCase(name, "Message-Id"u8)) { found |= HeaderPresence.MessageId; messageId = (pos + colon + 1)..(lineEnd); }
                else if (Ascii.EqualsIgnoreCase(name, "Date"u8)) found |= HeaderPresence.Date;
                else if (Ascii.EqualsIgnoreCase(name, "From"u8)) found |= HeaderPresence.From;
            }
            pos = lineEnd;
        }
        headerEnd = content.Length;
        return found;
    }

    /// <summary>The Message-Id header's value as Postfix logs it ("message-id=&lt;...&gt;"), or "&lt;&gt;" when absent.</summary>
    public static string MessageIdOf(ReadOnlySpan<byte> content)
    {
        var present = Scan(content, out _, out var idRange);
        return (present & HeaderPresence.MessageId) != 0 ? Encoding.UTF8.GetString(content[idRange]).Trim() : "<>";
    }

    /// <summary>
    /// Adds the missing headers right after the first <paramref name="skip"/> bytes
    /// (our Received: header). Returns the Message-Id value in use, for the log.
    /// </summary>
    public static string AddMissing(MessageBuilder m, int skip, string myHostname, DateTimeOffset now)
    {
        var content = m.Content;
        var present = Scan(content.Span, out int headerEnd, out var idRange);
        var add = new StringBuilder();
        string id;
        if ((present & HeaderPresence.MessageId) == 0)
        {
            id = $"<{now.UtcDateTime:yyyyMMddHHmmss}.{m.QueueId}@{myHostname}>";
            add.Append("Message-Id: ").Append(id).Append("\r\n");
        }
        else id = Encoding.UTF8.GetString(content.Span[idRange]).Trim();
        if ((present & HeaderPresence.Date) == 0)
            add.Append("Date: ").Append(now.UtcDateTime.ToString("ddd, d MMM yyyy HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)).Append(" +0000 (UTC)\r\n");
        if ((present & HeaderPresence.From) == 0)
        {
            var sender = m.SenderString();
            add.Append("From: ").Append(sender.Length == 0 ? "MAILER-DAEMON" : sender).Append("\r\n");
        }
        if (add.Length > 0)
        {
            content.Insert(Math.Min(skip, headerEnd), Encoding.UTF8.GetBytes(add.ToString()));
        }
        return id;
    }
}
