// Session set-up (Postfix smtp_proto.c smtp_helo / lmtp_lhlo): the greeting
// banner, EHLO with HELO fallback (or LHLO), and the service extensions we use.
// Failures are Postfix's "host h[ip] refused to talk to me: ..." site
// failures: a 4xx (or, with smtp_skip_5xx_greeting, a 5xx banner) moves on to
// the next host; a 5xx to HELO/LHLO is final. With smtp_tls_security_level
// set, STARTTLS follows EHLO (SmtpTlsStart) and EHLO is sent again inside TLS.
// Replies are untrusted.
using System.Buffers.Text;

namespace Postfix.Protocols.Smtp;

internal static class SmtpHandshake
{
    /// <summary>Runs the handshake; false when it failed and the open recipients were decided.</summary>
    public static async ValueTask<bool> RunAsync(SmtpConnection c, SmtpDeliveryState state, SmtpClientSettings s, string nexthop = "")
    {
        string stage = "receiving the initial server greeting";
        try
        {
            var reply = await c.ReadReplyAsync(s.HeloTimeout).ConfigureAwait(false);
            if (reply.Class != 2)
            {
                string dsn = reply.Dsn;
                if (reply.Class == 5 && s.Skip5xxGreeting) dsn = "4" + dsn[1..];
                return Refused(c, state, dsn);
            }

            if (s.Lmtp)
            {
                stage = "performing the LHLO handshake";
                c.AppendCommand("LHLO " + s.HeloName);
                await c.FlushCommandsAsync(s.HeloTimeout).ConfigureAwait(false);
                reply = await c.ReadReplyAsync(s.HeloTimeout).ConfigureAwait(false);
                if (reply.Class != 2) return Refused(c, state, reply.Dsn);
                c.Features = SmtpFeatures.Esmtp;
            }
            else
            {
                stage = "performing the EHLO handshake";
                c.AppendCommand("EHLO " + s.HeloName);
                await c.FlushCommandsAsync(s.HeloTimeout).ConfigureAwait(false);
                reply = await c.ReadReplyAsync(s.HeloTimeout).ConfigureAwait(false);
                if (reply.Code == 421) return Refused(c, state, reply.Dsn);
                if (reply.Class == 2) c.Features = SmtpFeatures.Esmtp;
                else
                {
                    stage = "performing the HELO handshake";
                    c.AppendCommand("HELO " + s.HeloName);
                    await c.FlushCommandsAsync(s.HeloTimeout).ConfigureAwait(false);
                    reply = await c.ReadReplyAsync(s.HeloTimeout).ConfigureAwait(false);
                    if (reply.Class != 2) return Refused(c, state, reply.Dsn);
                    c.Features = SmtpFeatures.None;
                }
            }
            if ((c.Features & SmtpFeatures.Esmtp) != 0) ParseExtensions(c);
            if (s.TlsLevel != SmtpTlsLevel.None && !s.Lmtp)
            {
                if ((c.Features & SmtpFeatures.Esmtp) == 0 && s.TlsLevel >= SmtpTlsLevel.Encrypt)
                {
                    state.DecideAllOpenSoftNonFinal(SmtpOutcome.Failure("4.7.4", $"TLS is required, but was not offered by host {c.NamAddr}"));
                    return false;
                }
                stage = "sending the STARTTLS command";
                if (!await SmtpTlsStart.RunAsync(c, state, s, nexthop).ConfigureAwait(false)) return false;
                if (c.Tls is not null)
                {
                    // RFC 3207 4.2: forget what the server said before TLS and ask again.
                    stage = "performing the EHLO handshake";
                    c.AppendCommand("EHLO " + s.HeloName);
                    await c.FlushCommandsAsync(s.HeloTimeout).ConfigureAwait(false);
                    reply = await c.ReadReplyAsync(s.HeloTimeout).ConfigureAwait(false);
                    if (reply.Class != 2) return Refused(c, state, reply.Dsn);
                    c.Features = SmtpFeatures.Esmtp;
                    ParseExtensions(c);
                }
            }
            return true;
        }
        catch (SmtpTransportException e)
        {
            state.DecideAllOpen(StreamFailure(c, e, stage));
            return false;
        }
    }

    /// <summary>smtp_stream_except: 4.4.2 "lost connection with ..." / "conversation with ... timed out".</summary>
    public static SmtpOutcome StreamFailure(SmtpConnection c, SmtpTransportException e, string stage) =>
        SmtpOutcome.Failure("4.4.2", e.Error == SmtpTransportError.Timeout
            ? $"conversation with {c.NamAddr} timed out while {stage}"
            : $"lost connection with {c.NamAddr} while {stage}");

    private static bool Refused(SmtpConnection c, SmtpDeliveryState state, string dsn)
    {
        state.DecideAllOpen(SmtpOutcome.Failure(dsn, $"host {c.NamAddr} refused to talk to me: {c.Reply.Text}"));
        return false;
    }

    // "250-KEYWORD params": the first line is the server's name; keywords are case-insensitive.
    private static void ParseExtensions(SmtpConnection c)
    {
        var features = c.Features;
        long sizeLimit = 0;
        bool first = true;
        foreach (var line in c.Reply.Lines)
        {
            if (first) { first = false; continue; }
            if (line.Length < 5) continue;
            var rest = line[4..];
            int end = rest.IndexOfAny((byte)' ', (byte)'=');
            var keyword = end < 0 ? rest : rest[..end];
            if (Is(keyword, "PIPELINING"u8)) features |= SmtpFeatures.Pipelining;
            else if (Is(keyword, "8BITMIME"u8)) features |= SmtpFeatures.EightBitMime;
            else if (Is(keyword, "DSN"u8)) features |= SmtpFeatures.Dsn;
            else if (Is(keyword, "SMTPUTF8"u8)) features |= SmtpFeatures.SmtpUtf8;
            else if (Is(keyword, "ENHANCEDSTATUSCODES"u8)) features |= SmtpFeatures.EnhancedStatusCodes;
            else if (Is(keyword, "STARTTLS"u8)) features |= SmtpFeatures.StartTls;
            else if (Is(keyword, "SIZE"u8))
            {
                features |= SmtpFeatures.Size;
                // A bad or huge limit is ignored, as Postfix does, rather than trusted.
                if (end >= 0 && Utf8Parser.TryParse(rest[(end + 1)..].Trim((byte)' '), out long limit, out int used)
                    && used == rest[(end + 1)..].Trim((byte)' ').Length && limit > 0)
                    sizeLimit = limit;
            }
        }
        // Postfix 20140706: a server with SMTPUTF8 but without 8BITMIME is taken to mean 8BITMIME.
        if ((features & SmtpFeatures.SmtpUtf8) != 0) features |= SmtpFeatures.EightBitMime;
        c.Features = features;
        c.SizeLimit = sizeLimit;
    }

    private static bool Is(ReadOnlySpan<byte> keyword, ReadOnlySpan<byte> name) =>
        System.Text.Ascii.EqualsIgnoreCase(keyword, name);
}
