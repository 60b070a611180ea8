// The two ways a connection fails under the client (smtp_stream.c SMTP_ERR_EOF / SMTP_ERR_TIME).
namespace Postfix.Protocols.Smtp;

internal enum SmtpTransportError : byte
{
    Lost,
    Timeout,
}
