// An IPv4 or IPv6 network block as written in Postfix mynetworks-style lists (man 5 postconf:
// mynetworks; Postfix cidr_match.c): "1.2.3.0/24", "[::1]/128", "::1/128", or a bare address.
// Parses trusted config text; Contains() takes untrusted client addresses and does not allocate.
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Postfix.Core.Config;

public readonly struct Cidr : IEquatable<Cidr>
{
    // Network bits, big-endian: IPv4 in the low 32 bits of _lo; IPv6 in _hi:_lo.
    private readonly ulong _hi;
    private readonly ulong _lo;
    private readonly byte _prefix;
    private readonly bool _isIPv6;

    private Cidr(ulong hi, ulong lo, int prefix, bool isIPv6)
    {
        _hi = hi;
        _lo = lo;
        _prefix = (byte)prefix;
        _isIPv6 = isIPv6;
    }

    public int PrefixLength => _prefix;

    public bool IsIPv6 => _isIPv6;

    public AddressFamily AddressFamily => _isIPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;

    /// <summary>The network address (allocates).</summary>
    public IPAddress Network
    {
        get
        {
            if (!_isIPv6)
            {
                return new IPAddress((long)(uint)BinaryPrimitives.ReverseEndianness((uint)_lo));
            }

            Span<byte> bytes = stackalloc byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, _hi);
            BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _lo);
            return new IPAddress(bytes);
        }
    }

    public static Cidr Parse(string text) =>
        TryParse(text, out var cidr, out var error) ? cidr : throw new FormatException(error);

    public static bool TryParse(string text, out Cidr cidr) => TryParse(text, out cidr, out _);

    /// <summary>Parses a network block; on failure <paramref name="error"/> explains why.
    /// Like Postfix, a block with host bits set ("1.2.3.4/24") is rejected.</summary>
    public static bool TryParse(string text, out Cidr cidr, out string error)
    {
        cidr = default;
        ReadOnlySpan<char> s = text.AsSpan().Trim();
        ReadOnlySpan<char> addressPart = s;
        ReadOnlySpan<char> prefixPart = default;
        bool hasPrefix = false;

        int slash = s.LastIndexOf('/');
        if (slash >= 0)
        {
            addressPart = s[..slash];
            prefixPart = s[(slash + 1)..];
            hasPrefix = true;
        }

        if (addressPart.Length >= 2 && addressPart[0] == '[' && addressPart[^1] == ']')
        {
            addressPart = addressPart[1..^1];
        }

        if (!TryParseAddress(addressPart, out var address))
        {
            error = $"bad network address \"{text}\"";
            return false;
        }

        bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        int maxPrefix = v6 ? 128 : 32;
        int prefix = maxPrefix;
        if (hasPrefix && (prefixPart.IsEmpty || prefixPart.Length > 3
            || !int.TryParse(prefixPart, NumberStyles.None, CultureInfo.InvariantCulture, out prefix)
            || prefix > maxPrefix))
        {
            error = $"bad network prefix length in \"{text}\" (must be 0..{maxPrefix})";
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        ulong hi = 0, lo;
        if (v6)
        {
            hi = BinaryPrimitives.ReadUInt64BigEndian(bytes);
            lo = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        }
        else
        {
            lo = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        }

        var (maskHi, maskLo) = Mask(prefix, v6);
        if ((hi & ~maskHi) != 0 || (lo & ~maskLo) != 0)
        {
            var network = new Cidr(hi & maskHi, lo & maskLo, prefix, v6);
            error = $"non-null host address bits in \"{text}\", perhaps you should use \"{network}\" instead";
            return false;
        }

        cidr = new Cidr(hi, lo, prefix, v6);
        error = "";
        return true;
    }

    /// <summary>True when <paramref name="address"/> is inside this block. IPv4-mapped IPv6
    /// addresses (::ffff:a.b.c.d) match IPv4 blocks, and IPv4 addresses match blocks covering
    /// their mapped form. Does not allocate.</summary>
    public bool Contains(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int written))
        {
            return false;
        }

        ulong hi, lo;
        if (written == 4)
        {
            uint v4 = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            if (!_isIPv6)
            {
                return Matches(0, v4);
            }

            hi = 0;
            lo = 0xFFFF_0000_0000UL | v4;
        }
        else
        {
            hi = BinaryPrimitives.ReadUInt64BigEndian(bytes);
            lo = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
            if (!_isIPv6)
            {
                if (hi != 0 || (lo >> 32) != 0xFFFF)
                {
                    return false;
                }

                return Matches(0, lo & 0xFFFF_FFFFUL);
            }
        }

        return Matches(hi, lo);
    }

    public bool Equals(Cidr other) =>
        _hi == other._hi && _lo == other._lo && _prefix == other._prefix && _isIPv6 == other._isIPv6;

    public override bool Equals(object? obj) => obj is Cidr other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_hi, _lo, _prefix, _isIPv6);

    public static bool operator ==(Cidr left, Cidr right) => left.Equals(right);

    public static bool operator !=(Cidr left, Cidr right) => !left.Equals(right);

    /// <summary>Postfix notation: "127.0.0.0/8", "[::1]/128".</summary>
    public override string ToString() =>
        _isIPv6 ? $"[{Network}]/{_prefix}" : $"{Network}/{_prefix}";

    private bool Matches(ulong hi, ulong lo)
    {
        var (maskHi, maskLo) = Mask(_prefix, _isIPv6);
        return (hi & maskHi) == _hi && (lo & maskLo) == _lo;
    }

    private static (ulong Hi, ulong Lo) Mask(int prefix, bool v6)
    {
        if (!v6)
        {
            return (0, prefix == 0 ? 0UL : (0xFFFF_FFFFUL << (32 - prefix)) & 0xFFFF_FFFFUL);
        }

        ulong hi = prefix >= 64 ? ulong.MaxValue : prefix == 0 ? 0 : ulong.MaxValue << (64 - prefix);
        ulong lo = prefix <= 64 ? 0 : prefix == 128 ? ulong.MaxValue : ulong.MaxValue << (128 - prefix);
        return (hi, lo);
    }

    // Accepts dotted-quad IPv4 and IPv6 without a scope id; rejects the odd inet_aton forms
    // ("10", "10.1") that IPAddress.TryParse would accept.
    private static bool TryParseAddress(ReadOnlySpan<char> text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.IsEmpty || text.Contains('%'))
        {
            return false;
        }

        if (!text.Contains(':'))
        {
            if (text.Count('.') != 3)
            {
                return false;
            }

            foreach (char c in text)
            {
                if (c != '.' && !char.IsAsciiDigit(c))
                {
                    return false;
                }
            }
        }

        if (!IPAddress.TryParse(text, out var parsed))
        {
            return false;
        }

        address = parsed;
        return true;
    }
}
