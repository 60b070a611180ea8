// The back end behind smtpd's AUTH (Postfix xsasl/xsasl.h: the server plug-in
// selected with smtpd_sasl_type). smtpd decodes the PLAIN/LOGIN exchange
// itself and asks the back end one question: are these credentials good?
// The username and password are untrusted client text (bounded by
// smtpd_sasl_response_limit before they get here).
namespace Postfix.Protocols.Sasl;

public interface ISaslPasswordVerifier
{
    /// <summary>smtpd_sasl_type as configured ("table", "dovecot").</summary>
    string Type { get; }

    ValueTask<SaslVerdict> VerifyAsync(string username, string password, CancellationToken cancellationToken);
}
