// ESMTP service extensions the client uses, from the EHLO/LHLO reply
// (smtp_proto.c: SMTP_FEATURE_*). AUTH is not implemented.
namespace Postfix.Protocols.Smtp;

[Flags]
internal enum SmtpFeatures : ushort
{
    None = 0,
    Esmtp = 1,
    Pipelining = 2,
    Size = 4,
    EightBitMime = 8,
    Dsn = 16,
    SmtpUtf8 = 32,
    EnhancedStatusCodes = 64,
    StartTls = 128,
}
