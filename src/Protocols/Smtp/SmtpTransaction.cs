// One mail transaction on an established session (Postfix smtp_proto.c
// smtp_loop, lmtp(8)): MAIL, RCPT per recipient, DATA, the dot-stuffed content
// and the final dot. With PIPELINING (RFC 2920) MAIL, every RCPT and DATA go
// out in one write and the replies are read back in order; without it, one
// command per round trip. LMTP (RFC 2033) answers the final dot once per
// accepted recipient. Server replies are untrusted; queue content is trusted.
using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Postfix.Core.Queue;

namespace Postfix.Protocols.Smtp;

internal static class SmtpTransaction
{
    private const int BodyChunkSize = 64 * 1024;
    private static readonly byte[] DotCrlf = ".\r\n"u8.ToArray();
    private static readonly byte[] CrlfDotCrlf = "\r\n.\r\n"u8.ToArray();

    public static async ValueTask<SmtpTransactionEnd> RunAsync(SmtpConnection c, SmtpDeliveryState state,
        SmtpClientSettings s, bool reused)
    {
        var msg = state.Request.Message;
        var open = new List<int>(state.Count);
        for (int i = 0; i < state.Count; i++) if (state.IsOpen(i)) open.Add(i);
        if (open.Count == 0) return SmtpTransactionEnd.Reusable;

        if (msg.SmtpUtf8 && (c.Features & SmtpFeatures.SmtpUtf8) == 0)
        {
            state.DecideAllOpenSoftNonFinal(SmtpOutcome.Failure("5.6.7",
                $"SMTPUTF8 is required, but was not offered by host {c.NamAddr}"));
            return SmtpTransactionEnd.Reusable;
        }
        long size = msg.Content.Length;
        if (c.SizeLimit > 0 && size > c.SizeLimit)
        {
            state.DecideAllOpen(SmtpOutcome.Failure("5.3.4",
                $"message size {size} exceeds size limit {c.SizeLimit} of server {c.NamAddr}"));
            return SmtpTransactionEnd.Reusable;
        }

        bool pipelining = (c.Features & SmtpFeatures.Pipelining) != 0;
        bool answered = false;
        string stage = "sending MAIL FROM";
        try
        {
            AppendMail(c, msg);
            if (pipelining)
            {
                foreach (int i in open) AppendRcpt(c, state.Request.Recipients[i]);
                c.AppendCommand("DATA");
            }
            await c.FlushCommandsAsync(s.MailTimeout).ConfigureAwait(false);
            var reply = await c.ReadReplyAsync(s.MailTimeout).ConfigureAwait(false);
            answered = true;
            bool mailOk = reply.Class == 2;
            if (!mailOk) state.DecideAllOpen(SmtpOutcome.FromReply(c, reply, "MAIL FROM command"));

            stage = "sending RCPT TO";
            var accepted = new List<int>(open.Count);
            if (pipelining || mailOk)
            {
                foreach (int i in open)
                {
                    if (!pipelining)
                    {
                        AppendRcpt(c, state.Request.Recipients[i]);
                        await c.FlushCommandsAsync(s.RcptTimeout).ConfigureAwait(false);
                    }
                    reply = await c.ReadReplyAsync(s.RcptTimeout).ConfigureAwait(false);
                    if (!mailOk) continue;
                    if (reply.Class == 2) accepted.Add(i);
                    else state.Decide(i, SmtpOutcome.FromReply(c, reply, "RCPT TO command"));
                }
            }

            stage = "sending DATA command";
            if (!pipelining)
            {
                if (!mailOk || accepted.Count == 0) return End(c);
                c.AppendCommand("DATA");
                await c.FlushCommandsAsync(s.DataInitTimeout).ConfigureAwait(false);
            }
            reply = await c.ReadReplyAsync(s.DataInitTimeout).ConfigureAwait(false);
            if (reply.Class != 3)
            {
                foreach (int i in accepted) state.Decide(i, SmtpOutcome.FromReply(c, reply, "DATA command"));
                return End(c);
            }
            stage = "sending end of data -- message may be sent more than once";
            if (accepted.Count == 0)
            {
                // 354 without a valid transaction (a pipelining server that did not reject DATA):
                // send an empty message end, as Postfix does, and ignore what the server thinks of it.
                await c.WriteAsync(DotCrlf, s.DataDoneTimeout).ConfigureAwait(false);
                await c.ReadReplyAsync(s.DataDoneTimeout).ConfigureAwait(false);
                return End(c);
            }

            stage = "sending message body";
            await SendBodyAsync(c, msg.Content, s).ConfigureAwait(false);
            stage = "sending end of data -- message may be sent more than once";
            if (!s.Lmtp)
            {
                reply = await c.ReadReplyAsync(s.DataDoneTimeout).ConfigureAwait(false);
                var outcome = reply.Class == 2
                    ? SmtpOutcome.Sent(reply.Dsn, reply.Text)
                    : SmtpOutcome.FromReply(c, reply, "end of DATA command");
                foreach (int i in accepted) state.Decide(i, outcome);
            }
            else
            {
                foreach (int i in accepted)
                {
                    reply = await c.ReadReplyAsync(s.DataDoneTimeout).ConfigureAwait(false);
                    state.Decide(i, reply.Class == 2
                        ? SmtpOutcome.Sent(reply.Dsn, reply.Text)
                        : SmtpOutcome.FromReply(c, reply, "end of DATA command"));
                }
            }
            return c.Broken ? SmtpTransactionEnd.Broken : SmtpTransactionEnd.Clean;
        }
        catch (SmtpTransportException e)
        {
            c.Commands.ResetWrittenCount();
            if (reused && !answered)
            {
                state.UndoSession();
                return SmtpTransactionEnd.RetryFresh;
            }
            state.DecideAllOpen(SmtpHandshake.StreamFailure(c, e, stage));
            return SmtpTransactionEnd.Broken;
        }
    }

    private static SmtpTransactionEnd End(SmtpConnection c) =>
        c.Broken ? SmtpTransactionEnd.Broken : SmtpTransactionEnd.Reusable;

    // Content goes out through one pooled chunk: dot-stuffed on the way, never copied whole.
    // 8-bit content is sent as it is, also to a server without 8BITMIME: Postfix's default
    // (no MIME downgrade to quoted-printable) -- most servers accept it anyway.
    private static async ValueTask SendBodyAsync(SmtpConnection c, ReadOnlyMemory<byte> content, SmtpClientSettings s)
    {
        byte[] chunk = ArrayPool<byte>.Shared.Rent(BodyChunkSize);
        try
        {
            var stuffer = new SmtpDotStuffer();
            int pos = 0;
            while (true)
            {
                stuffer.Transform(content.Span[pos..], chunk.AsSpan(0, BodyChunkSize), out int consumed, out int filled);
                pos += consumed;
                bool done = pos == content.Length;
                bool terminated = false;
                if (done)
                {
                    var end = stuffer.Terminator;
                    if (BodyChunkSize - filled >= end.Length)
                    {
                        end.CopyTo(chunk.AsSpan(filled));
                        filled += end.Length;
                        terminated = true;
                    }
                }
                if (filled > 0) await c.WriteAsync(chunk.AsMemory(0, filled), s.DataXferTimeout).ConfigureAwait(false);
                if (done)
                {
                    if (!terminated)
                        await c.WriteAsync(stuffer.AtLineStart ? DotCrlf : CrlfDotCrlf, s.DataXferTimeout).ConfigureAwait(false);
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    private static void AppendMail(SmtpConnection c, QueuedMessage msg)
    {
        var w = c.Commands;
        w.Write("MAIL FROM:<"u8);
        Encoding.UTF8.GetBytes(msg.Sender.AsSpan(), w);
        w.Write(">"u8);
        var f = c.Features;
        if ((f & SmtpFeatures.Size) != 0)
        {
            w.Write(" SIZE="u8);
            Utf8Formatter.TryFormat(msg.Content.Length, w.GetSpan(20), out int n);
            w.Advance(n);
        }
        if (msg.BodyType is BodyType.EightBitMime or BodyType.BinaryMime && (f & SmtpFeatures.EightBitMime) != 0)
            w.Write(" BODY=8BITMIME"u8);
        if (msg.SmtpUtf8 && (f & SmtpFeatures.SmtpUtf8) != 0) w.Write(" SMTPUTF8"u8);
        if ((f & SmtpFeatures.Dsn) != 0)
        {
            if (msg.Ret == DsnRet.Full) w.Write(" RET=FULL"u8);
            else if (msg.Ret == DsnRet.Hdrs) w.Write(" RET=HDRS"u8);
            if (!string.IsNullOrEmpty(msg.EnvId))
            {
                w.Write(" ENVID="u8);
                AppendXtext(w, msg.EnvId, alreadyXtext: true);
            }
        }
        w.Write("\r\n"u8);
    }

    private static void AppendRcpt(SmtpConnection c, QueuedRecipient r)
    {
        var w = c.Commands;
        w.Write("RCPT TO:<"u8);
        Encoding.UTF8.GetBytes(r.Address.AsSpan(), w);
        w.Write(">"u8);
        if ((c.Features & SmtpFeatures.Dsn) != 0)
        {
            if (r.Notify != DsnNotify.None)
            {
                w.Write(" NOTIFY="u8);
                if ((r.Notify & DsnNotify.Never) != 0) w.Write("NEVER"u8);
                else
                {
                    bool comma = false;
                    if ((r.Notify & DsnNotify.Success) != 0) { w.Write("SUCCESS"u8); comma = true; }
                    if ((r.Notify & DsnNotify.Failure) != 0) { if (comma) w.Write(","u8); w.Write("FAILURE"u8); comma = true; }
                    if ((r.Notify & DsnNotify.Delay) != 0) { if (comma) w.Write(","u8); w.Write("DELAY"u8); }
                }
            }
            if (!string.IsNullOrEmpty(r.Orcpt))
            {
                w.Write(" ORCPT="u8);
                int semi = r.Orcpt.IndexOf(';');
                if (semi > 0) AppendXtext(w, r.Orcpt, alreadyXtext: true);
                else
                {
                    w.Write("rfc822;"u8);
                    AppendXtext(w, r.Orcpt, alreadyXtext: false);
                }
            }
        }
        w.Write("\r\n"u8);
    }

    // RFC 3461 xtext: '+', '=' and bytes outside '!'..'~' as "+HH". Values queued from smtpd are
    // xtext already; only what could break the command line is encoded then.
    private static void AppendXtext(ArrayBufferWriter<byte> w, string value, bool alreadyXtext)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = max > 512 ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> bytes = rented ?? stackalloc byte[512];
        int len = Encoding.UTF8.GetBytes(value, bytes);
        foreach (byte b in bytes[..len])
        {
            bool plain = b is > (byte)' ' and < 0x7f && b != (byte)'=' && (alreadyXtext || b != (byte)'+');
            if (plain)
            {
                w.GetSpan(1)[0] = b;
                w.Advance(1);
            }
            else
            {
                var d = w.GetSpan(3);
                d[0] = (byte)'+';
                d[1] = (byte)"0123456789ABCDEF"[b >> 4];
                d[2] = (byte)"0123456789ABCDEF"[b & 15];
                w.Advance(3);
            }
        }
        if (rented != null) ArrayPool<byte>.Shared.Return(rented);
    }
}
