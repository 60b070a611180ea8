// mail_copy(): writes one queued message (headers + body, CRLF, as committed)
// to a mailbox, maildir file or command in UNIX form: LF line ends, optional
// "From " envelope line, Return-Path / X-Original-To / Delivered-To headers,
// ">From " quoting and a trailing blank line (Postfix global/mail_copy.c).
// A last line without a line end gets one. The content is untrusted: nothing
// here interprets it beyond line ends; the output is bounded by a byte budget
// (the mailbox size limit) so a delivery can never grow a mailbox past it.
using System.Globalization;
using System.Text;

namespace Postfix.Core.Mailbox;

public static class MailCopy
{
    private static readonly byte[] FromSpace = "From "u8.ToArray();

    /// <summary>
    /// Writes the message to <paramref name="dst"/> and returns the bytes written. Throws
    /// <see cref="MailboxLimitException"/> before passing <paramref name="budget"/> bytes,
    /// and IOException for write errors (the caller truncates).
    /// </summary>
    public static long Write(Stream dst, ReadOnlySpan<byte> content, MailCopyFlags flags, in MailCopyEnvelope env,
        long budget = long.MaxValue)
    {
        var w = new Writer(dst, budget);
        var header = EnvelopeHeaders(flags, env);
        if (header.Length > 0) w.Put(Encoding.UTF8.GetBytes(header));

        bool quote = (flags & MailCopyFlags.Quote) != 0;
        int start = 0;
        while (start < content.Length)
        {
            int nl = content[start..].IndexOf((byte)'\n');
            var line = nl < 0 ? content[start..] : content.Slice(start, nl);
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            if (quote && line.StartsWith(FromSpace)) w.Put(">"u8);
            w.Put(line);
            w.Put("\n"u8);
            start = nl < 0 ? content.Length : start + nl + 1;
        }
        if ((flags & MailCopyFlags.Blank) != 0) w.Put("\n"u8);
        return w.Written;
    }

    /// <summary>The size <see cref="Write"/> produces, without writing (for a maildir's S= and W=).</summary>
    public static (long Size, long Lines) Measure(ReadOnlySpan<byte> content, MailCopyFlags flags, in MailCopyEnvelope env)
    {
        var header = EnvelopeHeaders(flags, env);
        long size = Encoding.UTF8.GetByteCount(header);
        long lines = header.Count(c => c == '\n');
        bool quote = (flags & MailCopyFlags.Quote) != 0;
        int start = 0;
        while (start < content.Length)
        {
            int nl = content[start..].IndexOf((byte)'\n');
            var line = nl < 0 ? content[start..] : content.Slice(start, nl);
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            size += line.Length + 1 + (quote && line.StartsWith(FromSpace) ? 1 : 0);
            lines++;
            start = nl < 0 ? content.Length : start + nl + 1;
        }
        if ((flags & MailCopyFlags.Blank) != 0) { size++; lines++; }
        return (size, lines);
    }

    /// <summary>The lines mail_copy() puts before the message, LF-terminated.</summary>
    public static string EnvelopeHeaders(MailCopyFlags flags, in MailCopyEnvelope env)
    {
        var sb = new StringBuilder();
        if ((flags & MailCopyFlags.From) != 0)
            sb.Append("From ").Append(env.Sender.Length == 0 ? "MAILER-DAEMON" : Quote822Local(env.Sender))
              .Append("  ").Append(AscTime(env.Time)).Append('\n');
        if ((flags & MailCopyFlags.ReturnPath) != 0)
            sb.Append("Return-Path: <").Append(env.Sender.Length == 0 ? "" : Quote822Local(env.Sender)).Append(">\n");
        if ((flags & MailCopyFlags.OrigRcpt) != 0 && env.OrigRcpt.Length > 0)
            sb.Append("X-Original-To: ").Append(Quote822Local(env.OrigRcpt)).Append('\n');
        if ((flags & MailCopyFlags.Delivered) != 0)
            sb.Append("Delivered-To: ").Append(Quote822Local(env.Delivered)).Append('\n');
        return sb.ToString();
    }

    /// <summary>C asctime() without its newline, in local time: "Thu Jan  1 00:00:00 1970".</summary>
    public static string AscTime(DateTimeOffset time)
    {
        var t = time.ToLocalTime();
        var inv = CultureInfo.InvariantCulture;
        return string.Create(inv, $"{t.ToString("ddd MMM", inv)} {t.Day,2} {t.ToString("HH:mm:ss yyyy", inv)}");
    }

    /// <summary>quote_822_local(): quotes an address localpart that is not a dot-atom.</summary>
    public static string Quote822Local(string address)
    {
        int at = address.LastIndexOf('@');
        string local = at < 0 ? address : address[..at];
        if (IsDotAtom(local)) return address;
        var sb = new StringBuilder(address.Length + 4).Append('"');
        foreach (char c in local)
        {
            if (c is '"' or '\\') sb.Append('\\');
            sb.Append(c);
        }
        sb.Append('"');
        if (at >= 0) sb.Append(address, at, address.Length - at);
        return sb.ToString();
    }

    private static bool IsDotAtom(string local)
    {
        if (local.Length == 0 || local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal)) return local.Length == 0;
        foreach (char c in local)
            if (!(char.IsAsciiLetterOrDigit(c) || c >= 0x80 || "!#$%&'*+-/=?^_`{|}~.".Contains(c))) return false;
        return true;
    }

    private ref struct Writer(Stream dst, long budget)
    {
        public long Written;

        public void Put(ReadOnlySpan<byte> bytes)
        {
            if (Written + bytes.Length > budget) throw new MailboxLimitException(budget);
            dst.Write(bytes);
            Written += bytes.Length;
        }
    }
}
