// The site argument of postqueue -s, checked as Postfix's postqueue checks it
// before asking anyone (util/valid_hostname.c, global/valid_mailhost_addr.c):
// a host name (letters, digits, '_', inner '-'; labels of 1..63, at most 255
// in all; not all digits), or an RFC 5321 address literal "[1.2.3.4]" /
// "[IPv6:...]". The argument comes from the command line, and the showq
// service checks it again: it trusts no client.
using System.Net;
using System.Net.Sockets;

namespace Postfix.Host.Commands;

public static class PostqueueSite
{
    public const int MaxHostnameLength = 255;
    public const int MaxLabelLength = 63;

    public static bool IsValid(string site) =>
        site.StartsWith('[') ? IsValidLiteral(site) : IsValidHostname(site);

    public static bool IsValidHostname(string name)
    {
        if (name.Length == 0 || name.Length > MaxHostnameLength) return false;
        int label = 0;
        bool nonNumeric = false;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool last = i + 1 == name.Length;
            if (char.IsAsciiLetterOrDigit(c) || c == '_')
            {
                if (++label > MaxLabelLength) return false;
                if (!char.IsAsciiDigit(c)) nonNumeric = true;
            }
            else if (c == '.')
            {
                if (label == 0 || last) return false;
                label = 0;
            }
            else if (c == '-')
            {
                nonNumeric = true;
                if (++label == 1 || last || name[i + 1] == '.') return false;
            }
            else return false;
        }
        return nonNumeric;
    }

    public static bool IsValidLiteral(string site)
    {
        if (site.Length < 3 || site[0] != '[' || site[^1] != ']') return false;
        var inner = site[1..^1];
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
        {
            var v6 = inner[5..];
            return v6.Length > 0 && !v6.Contains('%') && v6.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')
                && IPAddress.TryParse(v6, out var a6) && a6.AddressFamily == AddressFamily.InterNetworkV6;
        }
        // Dotted quad only: IPAddress.TryParse would also take "1.2" or "0x7f.1".
        var parts = inner.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is >= 1 and <= 3 && p.All(char.IsAsciiDigit) && int.Parse(p) <= 255);
    }
}
