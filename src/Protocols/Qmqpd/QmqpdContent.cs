// qmqpd(8)'s content fix-ups once the whole packet is in (Postfix
// qmqpd_write_content): QMQP sends the message before the envelope, so our
// Received: header (which names the queue ID and a single recipient) is put in
// front only now. A mailbox "From " line at the top becomes X-Mailbox-Line:,
// and content starting with white space gets an empty line first, so it is not
// taken as part of our Received: header. The content is untrusted; the
// additions are a few hundred bytes at most.
using System.Text;
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;
using Postfix.Core.Util;

namespace Postfix.Protocols.Qmqpd;

internal static class QmqpdContent
{
    /// <summary>Applies the fix-ups and prepends Received:; returns the Received: header's length.</summary>
    public static int PrependHeaders(MessageBuilder msg, string clientAddress, string myHostname)
    {
        var content = msg.Content;
        int pos = 0;
        while (IsMailboxFromLine(content.Span[pos..]))
        {
            content.Insert(pos, "X-Mailbox-Line: "u8);
            int lf = content.Span[pos..].IndexOf((byte)'\n');
            pos = lf < 0 ? content.Length : pos + lf + 1;
        }
        if (pos < content.Length && content.Span[pos] is (byte)' ' or (byte)'\t')
            content.Insert(pos, "\r\n"u8);

        using var received = new PooledBuffer(512);
        Span<byte> id = stackalloc byte[QueueId.Length];
        msg.QueueId.Format(id);
        ReceivedHeader.Write(received, "unknown"u8, "unknown", clientAddress, Encoding.ASCII.GetBytes(myHostname),
            "QMQP"u8, id, SingleRecipient(msg), DateTimeOffset.UtcNow);
        content.Insert(0, received.Span);
        return received.Length;
    }

    /// <summary>Postfix lists the recipient in Received: only when there is exactly one (no Bcc: leak).</summary>
    private static ReadOnlySpan<byte> SingleRecipient(MessageBuilder msg)
    {
        if (msg.RecipientCount != 1) return default;
        var block = msg.RecipientBlock; // u16 length + address first
        int len = block[0] | block[1] << 8;
        return block.Slice(2, len);
    }

    /// <summary>"From " after any number of '>' (Postfix: strspn(start, "&gt;") then "From ").</summary>
    private static bool IsMailboxFromLine(ReadOnlySpan<byte> rest)
    {
        int i = 0;
        while (i < rest.Length && rest[i] == (byte)'>') i++;
        return rest[i..].StartsWith("From "u8);
    }
}
