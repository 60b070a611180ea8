// SMTP verbs smtpd(8) knows (RFC 5321 section 4.1, RFC 3030 BDAT, RFC 3207 STARTTLS).
namespace Postfix.Protocols.Smtpd;

public enum SmtpCommand : byte
{
    Unknown = 0,
    Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Help, Vrfy, Expn, Etrn, StartTls, Auth,
}
