// Parses the arguments of MAIL FROM / RCPT TO (RFC 5321 4.1.2 Path and
// Mail-parameters, RFC 6531 SMTPUTF8, RFC 3461 DSN). Tolerant like Postfix with
// strict_rfc821_envelopes=no (space after the colon, missing brackets), strict
// about what could hurt: control characters, unbalanced quoting, overlong paths,
// malformed UTF-8, and a domain that is neither a host name nor an address
// literal (Postfix: trivial-rewrite's valid_hostname / valid_hostliteral check,
// which makes smtpd refuse the address). Returns spans into the caller's line:
// no allocation.
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Unicode;

namespace Postfix.Protocols.Smtpd;

public enum PathStatus : byte
{
    Ok,
    Syntax,        // no FROM:/TO: or no address at all
    BadAddress,    // address characters or structure unacceptable
    NeedsSmtpUtf8, // 8-bit address without SMTPUTF8
    BadUtf8,
}

public static class SmtpPathParser
{
    public const int MaxPathLength = 256;
    public const int MaxHostnameLength = 255;
    public const int MaxLabelLength = 63;

    /// <summary>
    /// Parses "FROM:&lt;addr&gt; params" (or "TO:"), yielding the bare address
    /// (source route removed) and the parameter text.
    /// </summary>
    public static PathStatus TryParse(ReadOnlySpan<byte> args, ReadOnlySpan<byte> keyword,
        out ReadOnlySpan<byte> address, out ReadOnlySpan<byte> parameters)
    {
        address = default;
        parameters = default;
        if (args.Length < keyword.Length || !Ascii.EqualsIgnoreCase(args[..keyword.Length], keyword))
            return PathStatus.Syntax;
        var rest = SmtpCommandParser.TrimStart(args[keyword.Length..]);
        if (rest.IsEmpty) return PathStatus.Syntax;
        int end;
        if (rest[0] == (byte)'<')
        {
            end = FindClosingBracket(rest);
            if (end < 0) return PathStatus.BadAddress;
            address = rest[1..end];
            rest = rest[(end + 1)..];
            if (!rest.IsEmpty && rest[0] != (byte)' ') return PathStatus.BadAddress;
        }
        else
        {
            end = rest.IndexOf((byte)' ');
            address = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[end..];
            if (address.IndexOfAny((byte)'<', (byte)'>') >= 0) return PathStatus.BadAddress;
        }
        parameters = SmtpCommandParser.Trim(rest);
        if (address.Length > MaxPathLength) return PathStatus.BadAddress;
        // Strip an RFC 821 source route: @a,@b:user@domain
        if (!address.IsEmpty && address[0] == (byte)'@')
        {
            int colon = address.IndexOf((byte)':');
            if (colon < 0) return PathStatus.BadAddress;
            address = address[(colon + 1)..];
        }
        return ValidateAddress(address);
    }

    private static int FindClosingBracket(ReadOnlySpan<byte> s)
    {
        bool quoted = false;
        for (int i = 1; i < s.Length; i++)
        {
            byte b = s[i];
            if (b == (byte)'\\') { i++; continue; }
            if (b == (byte)'"') quoted = !quoted;
            else if (!quoted && b == (byte)'>') return i;
            else if (!quoted && b == (byte)'<') return -1;
        }
        return -1;
    }

    private static PathStatus ValidateAddress(ReadOnlySpan<byte> address)
    {
        bool quoted = false, eightBit = false;
        int at = -1;
        for (int i = 0; i < address.Length; i++)
        {
            byte b = address[i];
            if (b < 0x20 || b == 0x7F) return PathStatus.BadAddress;
            if (b >= 0x80) { eightBit = true; continue; }
            if (b == (byte)'\\') { i++; continue; }
            if (b == (byte)'"') { quoted = !quoted; continue; }
            if (!quoted && b == (byte)'@') at = i;
            if (!quoted && (b == (byte)' ' || b == (byte)',' || b == (byte)';' || b == (byte)'(' || b == (byte)')'))
                return PathStatus.BadAddress;
        }
        if (quoted) return PathStatus.BadAddress;
        if (eightBit && !Utf8.IsValid(address)) return PathStatus.BadUtf8;
        if (at >= 0 && !IsValidDomain(address[(at + 1)..])) return PathStatus.BadAddress;
        return eightBit ? PathStatus.NeedsSmtpUtf8 : PathStatus.Ok;
    }

    /// <summary>
    /// The part after the last unquoted '@': empty (Postfix strips a trailing '@'),
    /// a host name, or an address literal. One trailing dot is allowed, as Postfix
    /// strips it; 8-bit bytes count as letters (SMTPUTF8 domains, validated as UTF-8 by the caller).
    /// </summary>
    public static bool IsValidDomain(ReadOnlySpan<byte> domain)
    {
        if (domain.IsEmpty) return true;
        if (domain[0] == (byte)'[') return IsValidAddressLiteral(domain);
        if (domain.Length > 1 && domain[^1] == (byte)'.' && domain[^2] != (byte)'.') domain = domain[..^1];
        return IsValidHostname(domain);
    }

    /// <summary>Postfix valid_hostname(): labels of 1..63 letters, digits, '_' and inner '-', at most 255 in all, not all digits.</summary>
    public static bool IsValidHostname(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.Length > MaxHostnameLength) return false;
        int label = 0;
        bool nonNumeric = false;
        for (int i = 0; i < name.Length; i++)
        {
            byte b = name[i];
            bool last = i + 1 == name.Length;
            if (b == (byte)'.')
            {
                if (label == 0 || last) return false;
                label = 0;
                continue;
            }
            if (++label > MaxLabelLength) return false;
            if (b == (byte)'-')
            {
                if (label == 1 || last || name[i + 1] == (byte)'.') return false;
                nonNumeric = true;
            }
            else if (b >= 0x80 || char.IsAsciiLetter((char)b) || b == (byte)'_') nonNumeric = true;
            else if (!char.IsAsciiDigit((char)b)) return false;
        }
        return nonNumeric;
    }

    /// <summary>RFC 5321 4.1.3 address literal: "[1.2.3.4]" (dotted quad) or "[IPv6:...]".</summary>
    public static bool IsValidAddressLiteral(ReadOnlySpan<byte> literal)
    {
        if (literal.Length < 3 || literal[0] != (byte)'[' || literal[^1] != (byte)']') return false;
        var inner = literal[1..^1];
        if (inner.Length > 5 && Ascii.EqualsIgnoreCase(inner[..5], "IPv6:"u8))
        {
            var v6 = inner[5..];
            foreach (byte b in v6)
                if (!char.IsAsciiHexDigit((char)b) && b != (byte)':' && b != (byte)'.') return false; // no %zone
            return IPAddress.TryParse(v6, out var a6) && a6.AddressFamily == AddressFamily.InterNetworkV6;
        }
        // A dotted quad only: IPAddress.TryParse would also take "1.2" or "0x7f.1".
        int parts = 0, digits = 0, value = 0;
        foreach (byte b in inner)
        {
            if (b == (byte)'.')
            {
                if (digits == 0) return false;
                parts++;
                digits = value = 0;
            }
            else if (char.IsAsciiDigit((char)b))
            {
                value = value * 10 + (b - '0');
                if (++digits > 3 || value > 255) return false;
            }
            else return false;
        }
        return digits > 0 && parts == 3;
    }

    /// <summary>Enumerates "KEY=VALUE" / "KEY" tokens of the parameter text.</summary>
    public static bool NextParameter(ref ReadOnlySpan<byte> parameters, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        parameters = SmtpCommandParser.TrimStart(parameters);
        key = value = default;
        if (parameters.IsEmpty) return false;
        int sp = parameters.IndexOf((byte)' ');
        var token = sp < 0 ? parameters : parameters[..sp];
        parameters = sp < 0 ? default : parameters[sp..];
        int eq = token.IndexOf((byte)'=');
        key = eq < 0 ? token : token[..eq];
        value = eq < 0 ? default : token[(eq + 1)..];
        return true;
    }

    /// <summary>RFC 3461 xtext: printable ASCII except '+' and '=' unless as +XX hex.</summary>
    public static bool IsXtext(ReadOnlySpan<byte> s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            byte b = s[i];
            if (b == (byte)'+')
            {
                if (i + 2 >= s.Length || !IsUpperHex(s[i + 1]) || !IsUpperHex(s[i + 2])) return false;
                i += 2;
            }
            else if (b < 33 || b > 126 || b == (byte)'=') return false;
        }
        return true;
    }

    private static bool IsUpperHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'A' and <= (byte)'F';

    public static bool TryParseDecimal(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 18) return false;
        foreach (byte b in s)
        {
            if (b < (byte)'0' || b > (byte)'9') return false;
            value = value * 10 + (b - '0');
        }
        return true;
    }
}
