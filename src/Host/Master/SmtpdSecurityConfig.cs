// smtpd(8)'s TLS and SASL parameters from main.cf / master.cf -o overrides
// (man 5 postconf: smtpd_tls_*, smtpd_sasl_*): certificates and password
// tables are read here, so a missing or malformed file is a config error at
// start, reload and check, naming the parameter and where it was set.
// Relative file names are taken from the config directory.
using System.Security.Cryptography;
using Postfix.Core.Config;
using Postfix.Protocols.Sasl;
using Postfix.Protocols.Smtpd;
using Postfix.Protocols.Tls;

namespace Postfix.Host.Master;

public static class SmtpdSecurityConfig
{
    public static SmtpdSettings WithTlsAndSasl(this SmtpdSettings settings, MainCf main)
    {
        bool wrapper = main.GetBool("smtpd_tls_wrappermode");
        var level = Level(main);
        TlsServerContext? tls = null;
        if (wrapper || level != SmtpdTlsLevel.None)
        {
            var cert = LoadCertificate(main);
            if (cert is null && (wrapper || level == SmtpdTlsLevel.Encrypt))
            {
                throw main.ErrorFor(wrapper ? "smtpd_tls_wrappermode" : "smtpd_tls_security_level",
                    "TLS is required, but no certificate is configured (set smtpd_tls_chain_files or smtpd_tls_cert_file)");
            }
            // "may" without a certificate: like Postfix, no STARTTLS (plaintext only).
            if (cert is not null)
                tls = new TlsServerContext(cert, Protocols(main, "smtpd_tls_protocols"), Protocols(main, "smtpd_tls_mandatory_protocols"));
        }
        var options = main.GetList("smtpd_sasl_security_options");
        var tlsOptions = main.GetList("smtpd_sasl_tls_security_options");
        return settings with
        {
            TlsLevel = level,
            Tls = tls,
            TlsWrapperMode = wrapper,
            TlsLogLevel = main.GetInt("smtpd_tls_loglevel"),
            TlsReceivedHeader = main.GetBool("smtpd_tls_received_header"),
            TlsAuthOnly = main.GetBool("smtpd_tls_auth_only"),
            StartTlsTimeout = Positive(main, "smtpd_starttls_timeout"),
            Sasl = main.GetBool("smtpd_sasl_auth_enable") ? SaslBackend(main) : null,
            SaslNoPlaintext = options.Contains("noplaintext", StringComparer.OrdinalIgnoreCase),
            SaslTlsNoPlaintext = tlsOptions.Contains("noplaintext", StringComparer.OrdinalIgnoreCase),
            SaslResponseLimit = Math.Max(12288, main.GetInt("smtpd_sasl_response_limit")), // RFC 4954's minimum is the floor
            SaslAuthenticatedHeader = main.GetBool("smtpd_sasl_authenticated_header"),
            ClientAuthRateLimit = NonNegative(main, "smtpd_client_auth_rate_limit"),
            ClientAuthFailureLimit = NonNegative(main, "smtpd_client_auth_failure_limit"),
            AnvilRateTimeUnit = Positive(main, "anvil_rate_time_unit"),
        };
    }

    private static SmtpdTlsLevel Level(MainCf main)
    {
        var value = main.Get("smtpd_tls_security_level").Trim().ToLowerInvariant();
        if (value.Length == 0)
            return main.GetBool("smtpd_enforce_tls") ? SmtpdTlsLevel.Encrypt : main.GetBool("smtpd_use_tls") ? SmtpdTlsLevel.May : SmtpdTlsLevel.None;
        return value switch
        {
            "none" => SmtpdTlsLevel.None,
            "may" => SmtpdTlsLevel.May,
            // Client-side levels: Postfix warns and uses encrypt.
            "encrypt" or "verify" or "secure" or "fingerprint" => SmtpdTlsLevel.Encrypt,
            _ => throw main.ErrorFor("smtpd_tls_security_level", $"bad value \"{value}\" (specify none, may or encrypt)"),
        };
    }

    private static System.Net.Security.SslStreamCertificateContext? LoadCertificate(MainCf main)
    {
        var chain = main.GetList("smtpd_tls_chain_files").Select(f => FilePath(main, f)).ToList();
        var cert = main.Get("smtpd_tls_cert_file").Trim();
        var key = main.Get("smtpd_tls_key_file").Trim();
        string name = chain.Count > 0 ? "smtpd_tls_chain_files" : "smtpd_tls_cert_file";
        try
        {
            return TlsCertificateFiles.Load(chain, cert.Length > 0 ? FilePath(main, cert) : "", key.Length > 0 ? FilePath(main, key) : "");
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            throw main.ErrorFor(name, $"cannot load the server certificate: {e.Message}");
        }
    }

    public static System.Security.Authentication.SslProtocols Protocols(MainCf main, string name) =>
        TlsProtocolList.TryParse(main.Get(name), out var p, out var error) ? p : throw main.ErrorFor(name, error);

    private static ISaslPasswordVerifier SaslBackend(MainCf main)
    {
        var type = main.Get("smtpd_sasl_type").Trim().ToLowerInvariant();
        var path = main.Get("smtpd_sasl_path").Trim();
        switch (type)
        {
            case "table":
                try
                {
                    return SaslPasswordTable.Load(FilePath(main, path));
                }
                catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
                {
                    throw main.ErrorFor("smtpd_sasl_path", $"cannot read the SASL password table: {e.Message}");
                }
            case "dovecot":
                // Postfix: a relative path is taken from the queue directory (private/auth).
                var queue = Path.GetFullPath(main.Get("queue_directory"), main.ConfigDirectory ?? Directory.GetCurrentDirectory());
                return new SaslDovecotClient(Path.GetFullPath(path, queue));
            default:
                throw main.ErrorFor("smtpd_sasl_type", $"SASL type \"{type}\" is not supported (specify table or dovecot)");
        }
    }

    public static string FilePath(MainCf main, string file) =>
        Path.GetFullPath(file, main.ConfigDirectory ?? Directory.GetCurrentDirectory());

    private static TimeSpan Positive(MainCf main, string name)
    {
        var t = main.GetTime(name);
        return t > TimeSpan.Zero ? t : throw main.ErrorFor(name, "must be a positive time");
    }

    private static int NonNegative(MainCf main, string name)
    {
        int v = main.GetInt(name);
        return v >= 0 ? v : throw main.ErrorFor(name, "must not be negative");
    }
}
