// cleanup(8)/smtpd(8): the Received: header Postfix prepends (RFC 5321 4.4),
// formatted straight into the message buffer with no intermediate strings.
// The HELO name and address come from the client: they are copied as given
// (command lines never contain CR or LF, smtpd rejects those). The TLS summary
// is ours; the SASL username was decoded from the client but is checked UTF-8
// without control characters before it got here (smtpd AUTH).
using System.Globalization;
using System.Text;
using Postfix.Core.Util;

namespace Postfix.Core.Cleanup;

public static class ReceivedHeader
{
    public static void Write(PooledBuffer dest, ReadOnlySpan<byte> helo, string clientName, string clientAddress,
        ReadOnlySpan<byte> myHostname, ReadOnlySpan<byte> protocol, ReadOnlySpan<byte> queueId,
        ReadOnlySpan<byte> singleRecipient, DateTimeOffset now, string? tls = null, string? authenticatedSender = null)
    {
        dest.Write("Received: from "u8);
        dest.Write(helo.IsEmpty ? "unknown"u8 : helo);
        dest.Write(" ("u8);
        WriteString(dest, clientName);
        dest.Write(" ["u8);
        WriteString(dest, clientAddress);
        dest.Write("])"u8);
        if (tls is not null)
        {
            // smtpd_tls_received_header (Postfix smtpd.c): protocol, cipher, and no client certificate.
            dest.Write("\r\n\t(using "u8);
            WriteString(dest, tls);
            dest.Write(")\r\n\t(No client certificate requested)"u8);
        }
        if (authenticatedSender is not null)
        {
            dest.Write("\r\n\t(Authenticated sender: "u8);
            WriteString(dest, authenticatedSender);
            dest.Write(")"u8);
        }
        dest.Write("\r\n\tby "u8);
        dest.Write(myHostname);
        dest.Write(" (Postfix) with "u8);
        dest.Write(protocol);
        dest.Write(" id "u8);
        dest.Write(queueId);
        if (!singleRecipient.IsEmpty)
        {
            dest.Write("\r\n\tfor <"u8);
            dest.Write(singleRecipient);
            dest.Write(">; "u8);
        }
        else
        {
            dest.Write(";\r\n\t"u8);
        }
        WriteDate(dest, now);
        dest.Write("\r\n"u8);
    }

    /// <summary>RFC 5322 date-time, e.g. "Sat, 28 Nov 2026 15:44:23 +0000 (UTC)".</summary>
    public static void WriteDate(PooledBuffer dest, DateTimeOffset now)
    {
        var span = dest.GetSpan(64);
        now.UtcDateTime.TryFormat(span, out int n, "ddd, d MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture);
        dest.Advance(n);
        dest.Write(" +0000 (UTC)"u8);
    }

    private static void WriteString(PooledBuffer dest, string s)
    {
        var span = dest.GetSpan(Encoding.UTF8.GetMaxByteCount(s.Length));
        dest.Advance(Encoding.UTF8.GetBytes(s, span));
    }
}
