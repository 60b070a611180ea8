// Postfix's TLS protocol lists (smtpd_tls_protocols, smtpd_tls_mandatory_protocols,
// smtp_tls_protocols, ...; tls/tls_misc.c tls_protocol_mask): ">=TLSv1.2",
// "<=TLSv1.3", "!TLSv1.1", plain names to include, or hex numbers ("0303").
// Trusted operator text, but parsed strictly: an unknown name is an error.
// OUR floor: whatever the list says, only TLS 1.2 and 1.3 are ever enabled.
using System.Globalization;
using System.Security.Authentication;

namespace Postfix.Protocols.Tls;

public static class TlsProtocolList
{
    // Wire versions: 0x0300 SSLv3, 0x0301 TLSv1, ... 0x0304 TLSv1.3.
    private static readonly (string Name, int Version)[] Names =
    [
        ("SSLv2", 0x0200), ("SSLv3", 0x0300), ("TLSv1", 0x0301), ("TLSv1.1", 0x0302), ("TLSv1.2", 0x0303), ("TLSv1.3", 0x0304),
    ];

    /// <summary>
    /// The protocols a list allows, limited to TLS 1.2 and 1.3. False with an
    /// error text for a malformed list or one that leaves neither.
    /// </summary>
    public static bool TryParse(string value, out SslProtocols protocols, out string error)
    {
        protocols = SslProtocols.None;
        error = "";
        int min = 0, max = int.MaxValue;
        var include = new HashSet<int>();
        var exclude = new HashSet<int>();
        foreach (var raw in value.Split([' ', '\t', ',', ':'], StringSplitOptions.RemoveEmptyEntries))
        {
            string item = raw;
            char op = ' ';
            if (item.StartsWith(">=", StringComparison.Ordinal)) { op = '>'; item = item[2..]; }
            else if (item.StartsWith("<=", StringComparison.Ordinal)) { op = '<'; item = item[2..]; }
            else if (item.StartsWith('!')) { op = '!'; item = item[1..]; }
            if (!TryVersion(item, allowHex: op is '>' or '<', out int v))
            {
                error = $"unknown TLS protocol \"{raw}\" (use SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, >=NAME or <=NAME)";
                return false;
            }
            switch (op)
            {
                case '>': min = Math.Max(min, v); break;
                case '<': max = Math.Min(max, v); break;
                case '!': exclude.Add(v); break;
                default: include.Add(v); break;
            }
        }
        foreach (var (v, flag) in new[] { (0x0303, SslProtocols.Tls12), (0x0304, SslProtocols.Tls13) })
        {
            if (v < min || v > max || exclude.Contains(v)) continue;
            if (include.Count > 0 && !include.Contains(v)) continue;
            protocols |= flag;
        }
        if (protocols == SslProtocols.None)
        {
            error = $"\"{value}\" leaves no TLS protocol this server supports (TLSv1.2 and TLSv1.3 only)";
            return false;
        }
        return true;
    }

    private static bool TryVersion(string item, bool allowHex, out int version)
    {
        foreach (var (name, v) in Names)
            if (item.Equals(name, StringComparison.OrdinalIgnoreCase)) { version = v; return true; }
        version = 0;
        if (!allowHex) return false;
        var hex = item.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? item[2..] : item;
        return hex.Length is > 0 and <= 4
            && int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out version);
    }

    /// <summary>"TLSv1.2" / "TLSv1.3", as OpenSSL's SSL_get_version names them in Postfix logs.</summary>
    public static string Name(SslProtocols p) => p switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
#pragma warning disable SYSLIB0039 // only named here, never enabled
        SslProtocols.Tls11 => "TLSv1.1",
        SslProtocols.Tls => "TLSv1",
#pragma warning restore SYSLIB0039
        _ => p.ToString(),
    };
}
