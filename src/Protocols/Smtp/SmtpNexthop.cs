// Postfix next-hop syntax for smtp(8) and lmtp(8) (smtp(8) "SMTP DESTINATION
// SYNTAX", lmtp(8) "LMTP DESTINATION SYNTAX"):
//   domain, domain:port    MX lookup (smtp only), then the domain's A/AAAA
//   [host], [host]:port    no MX lookup; host may be an IP literal ([ipv6:...] too)
//   inet:host:port         lmtp style; "inet:" is accepted for smtp as well
// Input comes from qmgr (transport maps, relayhost: operator-trusted) but is
// parsed defensively: malformed text is a result, never an exception.
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Postfix.Protocols.Smtp;

public sealed record SmtpNexthop(string Host, int Port, bool MxLookup, IPAddress? Literal)
{
    /// <summary>Key for the connection cache: same key, interchangeable connections.</summary>
    public string CacheKey => $"{(MxLookup ? "" : "[")}{Host.ToLowerInvariant()}{(MxLookup ? "" : "]")}:{Port}";

    public override string ToString() => MxLookup ? $"{Host}:{Port}" : $"[{Host}]:{Port}";

    /// <summary>Parses <paramref name="nexthop"/>; <paramref name="lmtp"/> disables MX lookups as lmtp(8) does.</summary>
    public static bool TryParse(string? nexthop, int defaultPort, bool lmtp,
        [NotNullWhen(true)] out SmtpNexthop? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        error = null;
        var s = (nexthop ?? "").Trim();
        if (s.StartsWith("inet:", StringComparison.OrdinalIgnoreCase)) s = s[5..];
        else if (s.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
            return Fail(out error, nexthop, "UNIX-domain destinations are not supported");
        if (s.Length == 0) return Fail(out error, nexthop, "empty destination");
        if (s.Length > 255 + 2 + 6) return Fail(out error, nexthop, "destination too long");

        string host;
        string? portText = null;
        bool bracketed = s[0] == '[';
        if (bracketed)
        {
            int close = s.IndexOf(']');
            if (close < 0) return Fail(out error, nexthop, "missing \"]\"");
            host = s[1..close];
            var rest = s.AsSpan(close + 1);
            if (rest.Length > 0)
            {
                if (rest[0] != ':') return Fail(out error, nexthop, "garbage after \"]\"");
                portText = rest[1..].ToString();
            }
        }
        else
        {
            if (s.Contains('[') || s.Contains(']')) return Fail(out error, nexthop, "unbalanced \"[\"");
            int colon = s.LastIndexOf(':');
            // An unbracketed IPv6 address ("::1") cannot carry a port; take it whole.
            if (colon >= 0 && s.IndexOf(':') == colon)
            {
                host = s[..colon];
                portText = s[(colon + 1)..];
            }
            else host = s;
        }

        IPAddress? literal = null;
        if (host.StartsWith("ipv6:", StringComparison.OrdinalIgnoreCase))
        {
            if (!IPAddress.TryParse(host.AsSpan(5), out literal) || literal.AddressFamily != AddressFamily.InterNetworkV6)
                return Fail(out error, nexthop, "bad IPv6 address");
            host = host[5..];
        }
        else if (host.Contains(':'))
        {
            if (!IPAddress.TryParse(host, out literal)) return Fail(out error, nexthop, "bad IPv6 address");
        }
        else if (LooksNumeric(host))
        {
            if (!IPAddress.TryParse(host, out literal) || literal.AddressFamily != AddressFamily.InterNetwork)
                return Fail(out error, nexthop, "bad IPv4 address");
        }
        else if (!IsHostname(host)) return Fail(out error, nexthop, "bad host name");

        int port = defaultPort;
        if (portText != null && !TryParsePort(portText, out port))
            return Fail(out error, nexthop, $"bad port \"{portText}\"");

        result = new SmtpNexthop(host, port, MxLookup: !bracketed && !lmtp && literal == null, literal);
        return true;
    }

    private static bool Fail(out string error, string? nexthop, string why)
    {
        error = $"bad destination syntax \"{nexthop}\": {why}";
        return false;
    }

    private static bool TryParsePort(string text, out int port)
    {
        port = text.ToLowerInvariant() switch
        {
            "smtp" => 25,
            "lmtp" => 24,
            "submission" => 587,
            "smtps" or "submissions" => 465,
            _ => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int p) ? p : -1,
        };
        return port is > 0 and <= 65535;
    }

    private static bool LooksNumeric(string host)
    {
        foreach (char c in host)
            if (c != '.' && !char.IsAsciiDigit(c)) return false;
        return true;
    }

    // RFC 1123 host names: letters, digits, '-', '_' (seen in the wild), dots; labels <= 63.
    private static bool IsHostname(string host)
    {
        if (host.Length is 0 or > 255) return false;
        var h = host.EndsWith('.') ? host.AsSpan(0, host.Length - 1) : host.AsSpan();
        if (h.IsEmpty) return false;
        foreach (var range in h.Split('.'))
        {
            var label = h[range];
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (char c in label)
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_') return false;
        }
        return true;
    }
}
