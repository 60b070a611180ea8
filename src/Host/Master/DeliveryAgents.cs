// Binds master.cf's delivery services (Postfix: "smtp unix - - n - - smtp",
// "relay ... smtp", "lmtp ... lmtp", "local ... local", "virtual ... virtual")
// to delivery-agent instances, by transport name, for qmgr. Per-service -o
// overrides apply to that agent. smtp_tls_* files (the CA file) are read
// here: a bad one is a config error.
using System.Net;
using System.Security.Cryptography;
using Postfix.Core.Cleanup;
using Postfix.Core.Config;
using Postfix.Core.Delivery;
using Postfix.Core.Local;
using Postfix.Core.Logging;
using Postfix.Core.Virtual;
using Postfix.Protocols.Smtp;
using Postfix.Protocols.Tls;

namespace Postfix.Host.Master;

public static class DeliveryAgents
{
    /// <summary>The agents by service name; <paramref name="cleanup"/> is where local(8) forwards mail.</summary>
    public static IReadOnlyDictionary<string, IDeliveryAgent> Create(MasterConfig cfg, CleanupService cleanup, Maillog log)
    {
        var agents = new Dictionary<string, IDeliveryAgent>(StringComparer.Ordinal);
        foreach (var svc in cfg.Master.Services)
        {
            if (svc.Type == MasterServiceType.Unix && svc.Command == "error")
            {
                // master.cf "error ... error" bounces; "retry ... error" defers (Postfix: same program, named retry).
                agents[svc.Name] = new ErrorDeliveryAgent(retry: svc.Name == "retry");
                continue;
            }
            if (svc.Type != MasterServiceType.Unix || svc.Command is not ("smtp" or "lmtp" or "local" or "virtual")) continue;
            var main = svc.Overrides.Count > 0 ? cfg.Main.WithOverrides(svc.Overrides) : cfg.Main;
            var settings = svc.Overrides.Count > 0 ? MailSettings.From(main) : cfg.Settings;
            agents[svc.Name] = svc.Command switch
            {
                "local" => new LocalDeliveryAgent(LocalSettings.From(main, settings), cleanup, cfg.Resolver.Resolve, log),
                "virtual" => new VirtualDeliveryAgent(VirtualSettings.From(main, settings), log),
                _ => new SmtpDeliveryAgent(ClientSettings(settings, main, lmtp: svc.Command == "lmtp", log)),
            };
        }
        return agents;
    }

    /// <summary>Builds every smtp/lmtp service's settings once, so bad values fail at load time.</summary>
    public static void Check(MasterConfig cfg)
    {
        foreach (var svc in cfg.Master.Services)
        {
            if (svc.Type != MasterServiceType.Unix || svc.Command is not ("smtp" or "lmtp")) continue;
            var main = svc.Overrides.Count > 0 ? cfg.Main.WithOverrides(svc.Overrides) : cfg.Main;
            _ = ClientSettings(MailSettings.From(main), main, lmtp: svc.Command == "lmtp");
        }
    }

    public static SmtpClientSettings ClientSettings(MailSettings s, MainCf main, bool lmtp, Maillog? log = null) => new()
    {
        Log = log ?? Maillog.Null,
        TlsLevel = lmtp ? SmtpTlsLevel.None : TlsLevel(main),
        TlsProtocols = SmtpdSecurityConfig.Protocols(main, "smtp_tls_protocols"),
        TlsMandatoryProtocols = SmtpdSecurityConfig.Protocols(main, "smtp_tls_mandatory_protocols"),
        TlsServerName = main.Get("smtp_tls_servername").Trim(),
        TlsVerifier = new TlsPeerVerifier(CaFile(main), main.GetBool("tls_append_default_CA")),
        TlsVerifyCertMatch = main.GetList("smtp_tls_verify_cert_match"),
        TlsSecureCertMatch = main.GetList("smtp_tls_secure_cert_match"),
        TlsLogLevel = main.GetInt("smtp_tls_loglevel"),
        StartTlsTimeout = main.GetTime("smtp_starttls_timeout"),
        HeloName = s.SmtpHeloName,
        ConnectTimeout = s.SmtpConnectTimeout,
        HeloTimeout = s.SmtpHeloTimeout,
        MailTimeout = s.SmtpMailTimeout,
        RcptTimeout = s.SmtpRcptTimeout,
        DataInitTimeout = s.SmtpDataInitTimeout,
        DataXferTimeout = s.SmtpDataXferTimeout,
        DataDoneTimeout = s.SmtpDataDoneTimeout,
        QuitTimeout = s.SmtpQuitTimeout,
        ConnectionCacheOnDemand = s.SmtpConnectionCacheOnDemand,
        ConnectionCacheTimeLimit = main.GetTime(lmtp ? "lmtp_connection_cache_time_limit" : "smtp_connection_cache_time_limit"),
        Lmtp = lmtp,
        DnsServers = ParseServers(main),
    };

    private static SmtpTlsLevel TlsLevel(MainCf main)
    {
        var value = main.Get("smtp_tls_security_level").Trim().ToLowerInvariant();
        if (value.Length == 0)
            return main.GetBool("smtp_enforce_tls") ? SmtpTlsLevel.Encrypt : main.GetBool("smtp_use_tls") ? SmtpTlsLevel.May : SmtpTlsLevel.None;
        return value switch
        {
            "none" => SmtpTlsLevel.None,
            "may" => SmtpTlsLevel.May,
            "encrypt" => SmtpTlsLevel.Encrypt,
            "verify" => SmtpTlsLevel.Verify,
            "secure" => SmtpTlsLevel.Secure,
            _ => throw main.ErrorFor("smtp_tls_security_level", $"\"{value}\" is not supported (specify none, may, encrypt, verify or secure; dane and fingerprint are not implemented)"),
        };
    }

    private static System.Security.Cryptography.X509Certificates.X509Certificate2Collection CaFile(MainCf main)
    {
        var file = main.Get("smtp_tls_CAfile").Trim();
        if (file.Length == 0) return [];
        try
        {
            return TlsCertificateFiles.LoadCaFile(SmtpdSecurityConfig.FilePath(main, file));
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
        {
            throw main.ErrorFor("smtp_tls_CAfile", $"cannot load CA certificates: {e.Message}");
        }
    }

    public static IReadOnlyList<IPEndPoint>? ParseServers(MainCf main)
    {
        var list = main.GetList("smtp_dns_servers");
        if (list.Count == 0) return null;
        var result = new List<IPEndPoint>();
        foreach (var item in list)
        {
            if (IPEndPoint.TryParse(item, out var ep)) result.Add(ep.Port == 0 ? new IPEndPoint(ep.Address, 53) : ep);
            else throw main.ErrorFor("smtp_dns_servers", $"bad resolver address \"{item}\": use IP or IP:port");
        }
        return result;
    }
}
