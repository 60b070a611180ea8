// An I/O failure on an SMTP/LMTP client connection: the peer went away or a
// smtp_*_timeout expired. Never escapes the agent: it becomes Postfix's
// "lost connection with ... while ..." or "conversation with ... timed out
// while ..." (4.4.2) for the recipients still open.
namespace Postfix.Protocols.Smtp;

internal sealed class SmtpTransportException(SmtpTransportError error, Exception? inner = null)
    : Exception(error == SmtpTransportError.Timeout ? "timed out" : "lost connection", inner)
{
    public SmtpTransportError Error { get; } = error;
}
