// The smtp(8) client's STARTTLS step (Postfix smtp_proto.c smtp_start_tls and
// tls/tls_client.c), run after EHLO when smtp_tls_security_level is not none:
//   not offered   may: plaintext; encrypt and up: 4.7.4 "TLS is required, but
//                 was not offered by host ..."
//   refused       may: plaintext; otherwise the server's reply, soft unless last
//   handshake     failure: 4.7.5 "Cannot start TLS: handshake failure"
//   trust         verify/secure without a Verified peer: 4.7.5 "Server
//                 certificate not verified"
// then EHLO again (RFC 3207 4.2). Replies and certificates are untrusted.
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Postfix.Protocols.Tls;

namespace Postfix.Protocols.Smtp;

internal static class SmtpTlsStart
{
    /// <summary>True to go on with the session (in TLS, or in plaintext where allowed).</summary>
    public static async ValueTask<bool> RunAsync(SmtpConnection c, SmtpDeliveryState state, SmtpClientSettings s, string nexthop)
    {
        var level = s.TlsLevel;
        bool required = level >= SmtpTlsLevel.Encrypt;
        if ((c.Features & SmtpFeatures.StartTls) == 0)
        {
            if (!required) return true;
            state.DecideAllOpenSoftNonFinal(SmtpOutcome.Failure("4.7.4", $"TLS is required, but was not offered by host {c.NamAddr}"));
            return false;
        }

        c.AppendCommand("STARTTLS");
        await c.FlushCommandsAsync(s.HeloTimeout).ConfigureAwait(false);
        var reply = await c.ReadReplyAsync(s.HeloTimeout).ConfigureAwait(false);
        if (reply.Class != 2)
        {
            if (!required && reply.Code != 421) return true; // may: go on in plaintext
            state.DecideAllOpenSoftNonFinal(SmtpOutcome.Failure(reply.Dsn, $"TLS is required, but host {c.NamAddr} refused to start TLS: {reply.Text}"));
            return false;
        }

        X509Certificate2? peer = null;
        var intermediates = new X509Certificate2Collection();
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = ServerName(s.TlsServerName, c.Host.Name, nexthop),
            EnabledSslProtocols = required ? s.TlsMandatoryProtocols : s.TlsProtocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // Trust is judged after the handshake (TlsPeerVerifier), as Postfix does: the level
            // decides whether an untrusted peer is acceptable, not the handshake.
            RemoteCertificateValidationCallback = (_, cert, chain, _) =>
            {
                if (cert is not null) peer = new X509Certificate2(cert);
                if (chain is not null) intermediates.AddRange(chain.ChainPolicy.ExtraStore);
                return true;
            },
        };
        try
        {
            await c.StartTlsAsync(options, s.StartTlsTimeout).ConfigureAwait(false);
        }
        catch (AuthenticationException e)
        {
            s.Log.Info(s.ProtocolName, $"SSL_connect error to {c.NamAddrPort}: {e.InnerException?.Message ?? e.Message}");
            state.DecideAllOpenSoftNonFinal(SmtpOutcome.Failure("4.7.5", "Cannot start TLS: handshake failure"));
            return false;
        }

        var names = level switch
        {
            SmtpTlsLevel.Secure => TlsNameMatch.Resolve(s.TlsSecureCertMatch, c.Host.Name, nexthop),
            _ => TlsNameMatch.Resolve(s.TlsVerifyCertMatch, c.Host.Name, nexthop),
        };
        var trust = s.TlsVerifier.Evaluate(peer, intermediates, level >= SmtpTlsLevel.Verify ? names : []);
        if (s.TlsLogLevel >= 1)
            s.Log.Info(s.ProtocolName, $"{trust} TLS connection established to {c.NamAddrPort}: {c.Tls}");
        if (level >= SmtpTlsLevel.Verify && trust != TlsPeerTrust.Verified)
        {
            s.Log.Info(s.ProtocolName, $"server certificate verification failed for {c.NamAddrPort}: {(trust == TlsPeerTrust.Trusted ? "name mismatch" : "untrusted issuer")}");
            state.DecideAllOpenSoftNonFinal(SmtpOutcome.Failure("4.7.5", "Server certificate not verified"));
            return false;
        }
        return true;
    }

    // SNI: none for "" or an address literal (RFC 6066 allows host names only).
    private static string ServerName(string setting, string hostname, string nexthop)
    {
        var name = setting.ToLowerInvariant() switch
        {
            "" => "",
            "hostname" => hostname,
            "nexthop" => nexthop,
            _ => setting,
        };
        return IPAddress.TryParse(name.Trim('[', ']'), out _) ? "" : name;
    }
}
