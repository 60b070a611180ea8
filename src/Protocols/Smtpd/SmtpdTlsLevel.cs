// smtpd_tls_security_level (Postfix 2.3+; empty = the obsolete smtpd_use_tls /
// smtpd_enforce_tls decide): none, may (offer STARTTLS), encrypt (require it).
// "verify", "secure" and "fingerprint" are client-only levels: Postfix warns
// and uses encrypt; MasterConfig does the same.
namespace Postfix.Protocols.Smtpd;

public enum SmtpdTlsLevel : byte { None, May, Encrypt }
