// The server side of TLS (Postfix tls/tls_server.c): the certificate chain and
// the protocol ranges for opportunistic (smtpd_tls_protocols) and mandatory
// (smtpd_tls_mandatory_protocols: encrypt level, wrapper mode) sessions,
// loaded once per (re)load from trusted operator files. No client
// certificates are requested (smtpd_tls_ask_ccert = no).
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Postfix.Protocols.Tls;

public sealed class TlsServerContext
{
    private readonly SslServerAuthenticationOptions _opportunistic;
    private readonly SslServerAuthenticationOptions _mandatory;

    public TlsServerContext(SslStreamCertificateContext certificate, SslProtocols protocols, SslProtocols mandatoryProtocols)
    {
        Certificate = certificate;
        _opportunistic = Options(certificate, protocols);
        _mandatory = Options(certificate, mandatoryProtocols);
    }

    public SslStreamCertificateContext Certificate { get; }

    public SslServerAuthenticationOptions Options(bool mandatory) => mandatory ? _mandatory : _opportunistic;

    private static SslServerAuthenticationOptions Options(SslStreamCertificateContext cert, SslProtocols protocols) => new()
    {
        ServerCertificateContext = cert,
        EnabledSslProtocols = protocols,
        ClientCertificateRequired = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        // SMTP has no ALPN; no renegotiation from clients (TLS 1.2), as OpenSSL's default in Postfix.
        AllowRenegotiation = false,
    };
}
