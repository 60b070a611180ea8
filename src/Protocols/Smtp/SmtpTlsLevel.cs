// smtp_tls_security_level for the smtp(8) client (empty = the obsolete
// smtp_use_tls / smtp_enforce_tls decide). dane, dane-only and fingerprint
// are not implemented (MasterConfig refuses them).
namespace Postfix.Protocols.Smtp;

public enum SmtpTlsLevel : byte
{
    None,
    /// <summary>Opportunistic: STARTTLS when offered, plaintext otherwise.</summary>
    May,
    /// <summary>Mandatory encryption, any certificate.</summary>
    Encrypt,
    /// <summary>Mandatory encryption, a trusted chain, the name from smtp_tls_verify_cert_match.</summary>
    Verify,
    /// <summary>As verify, with the names of smtp_tls_secure_cert_match (not from MX lookups).</summary>
    Secure,
}
