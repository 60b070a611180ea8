// postcat(1)'s rendering of one queued message: the envelope as Postfix's
// record names ("sender: ...", "recipient: ...", "done_recipient: ..." for
// recipients already delivered or bounced), then the content with CRLF turned
// into LF, split into header and body as postcat -h / -b do, between Postfix's
// "*** ... {queue}/{ID} ***" markers. Output is bytes: message content is not
// necessarily UTF-8 and is shown as stored. The record is our own (trusted layout).
using System.Globalization;
using System.Text;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Host.Commands;

[Flags]
public enum PostcatSections
{
    None = 0,
    Envelope = 1,
    Header = 2,
    Body = 4,
    All = Envelope | Header | Body,
}

public static class PostcatFormat
{
    /// <summary>Flag letters of the showq "cat" request (e, h, b), as postcat's options.</summary>
    public static string Letters(PostcatSections s) =>
        (s.HasFlag(PostcatSections.Envelope) ? "e" : "") + (s.HasFlag(PostcatSections.Header) ? "h" : "") + (s.HasFlag(PostcatSections.Body) ? "b" : "");

    public static PostcatSections Parse(string letters)
    {
        var s = PostcatSections.None;
        foreach (char c in letters)
        {
            s |= c switch
            {
                'e' => PostcatSections.Envelope,
                'h' => PostcatSections.Header,
                'b' => PostcatSections.Body,
                _ => PostcatSections.None,
            };
        }
        return s == PostcatSections.None ? PostcatSections.All : s;
    }

    public static byte[] Render(QueueEntry entry, QueuedMessage m, PostcatSections sections)
    {
        var path = $"{entry.State.Name()}/{entry.Id}";
        var content = m.Content.Span;
        using var o = new MemoryStream(content.Length + 1024);
        bool env = sections.HasFlag(PostcatSections.Envelope);
        if (env)
        {
            Line(o, $"*** ENVELOPE RECORDS {path} ***");
            Line(o, $"message_size: {content.Length}");
            var arrival = AscTime(m.Arrival);
            Line(o, $"message_arrival_time: {arrival}");
            Line(o, $"create_time: {arrival}");
            Line(o, $"sender: {m.Sender}");
            Attr(o, "client_name", m.ClientName);
            Attr(o, "client_address", m.ClientAddress);
            Attr(o, "helo_name", m.Helo);
            Attr(o, "protocol_name", m.Protocol);
            Attr(o, "envelope_id", m.EnvId);
            if (m.Ret != DsnRet.None) Attr(o, "ret_flags", ((int)m.Ret).ToString(CultureInfo.InvariantCulture));
            foreach (var r in m.Recipients)
            {
                Attr(o, "dsn_orig_rcpt", r.Orcpt);
                if (r.Notify != DsnNotify.None) Attr(o, "notify_flags", ((int)r.Notify).ToString(CultureInfo.InvariantCulture));
                Line(o, $"original_recipient: {r.Address}");
                Line(o, $"{(entry.IsRecipientDone(r.Index) ? "done_recipient" : "recipient")}: {r.Address}");
            }
            Line(o, $"*** MESSAGE CONTENTS {path} ***");
        }
        if ((sections & (PostcatSections.Header | PostcatSections.Body)) != 0)
            WriteContent(o, content, sections.HasFlag(PostcatSections.Header), sections.HasFlag(PostcatSections.Body));
        if (env)
        {
            Line(o, $"*** HEADER EXTRACTED {path} ***");
            Line(o, $"*** MESSAGE FILE END {path} ***");
        }
        return o.ToArray();
    }

    /// <summary>Header lines run up to the first line that is neither a header nor a
    /// continuation; that line (usually the empty separator) starts the body.</summary>
    private static void WriteContent(Stream o, ReadOnlySpan<byte> content, bool header, bool body)
    {
        bool inHeader = true;
        while (!content.IsEmpty)
        {
            int nl = content.IndexOf((byte)'\n');
            var line = nl < 0 ? content : content[..nl];
            content = nl < 0 ? default : content[(nl + 1)..];
            if (!line.IsEmpty && line[^1] == '\r') line = line[..^1];
            if (inHeader && !IsHeader(line) && !(line.Length > 0 && (line[0] == ' ' || line[0] == '\t')))
            {
                inHeader = false;
                if (!body) return;
            }
            if (inHeader ? header : body)
            {
                o.Write(line);
                o.WriteByte((byte)'\n');
            }
        }
    }

    /// <summary>Postfix's is_header(): a field name of printable characters, optional blanks, a colon.</summary>
    private static bool IsHeader(ReadOnlySpan<byte> line)
    {
        int i = 0;
        while (i < line.Length && line[i] > ' ' && line[i] < 127 && line[i] != ':') i++;
        if (i == 0) return false;
        while (i < line.Length && (line[i] == ' ' || line[i] == '\t')) i++;
        return i < line.Length && line[i] == ':';
    }

    /// <summary>asctime(3) in local time: "Sat Jan  1 12:00:00 2022".</summary>
    private static string AscTime(DateTimeOffset t)
    {
        var l = t.ToLocalTime();
        return string.Create(CultureInfo.InvariantCulture, $"{l:ddd MMM} {l.Day,2} {l:HH:mm:ss yyyy}");
    }

    private static void Attr(Stream o, string name, string value)
    {
        if (value.Length > 0) Line(o, $"named_attribute: {name}={value}");
    }

    private static void Line(Stream o, string text)
    {
        o.Write(Encoding.UTF8.GetBytes(text));
        o.WriteByte((byte)'\n');
    }
}
