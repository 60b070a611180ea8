// Postfix's address lookup order (mail_addr_find_opt(), strip_addr(), split_addr()) as a
// reusable, allocation-free helper: for user+ext@domain with recipient_delimiter "+", the keys
// user+ext@domain, user@domain, user+ext, user, @domain (virtual(5), canonical(5)), or the
// access(5) order, per AddressKeyStrategy. recipient_delimiter may hold several characters (any
// one of them splits); as in Postfix, postmaster, mailer-daemon and the double-bounce sender are
// never split, nor owner-foo and foo-request when "-" is a delimiter, nor a localpart that would
// become empty. Keys are produced into a caller's scratch buffer; the enumerator is a ref struct.
// Input: envelope addresses (untrusted, already syntax-checked by smtpd); options are trusted.
using System.Text;

namespace Postfix.Core.Tables;

public sealed class AddressKeyOrder
{
    private readonly byte[] _delimiters;
    private readonly byte[] _doubleBounce;

    public AddressKeyOrder(AddressKeyStrategy strategy, string recipientDelimiter = "", LocalDomainPredicate? isLocal = null,
        string doubleBounceSender = "double-bounce")
    {
        Strategy = strategy;
        _delimiters = Encoding.UTF8.GetBytes(recipientDelimiter);
        _doubleBounce = Encoding.UTF8.GetBytes(doubleBounceSender);
        IsLocal = isLocal;
    }

    public AddressKeyStrategy Strategy { get; }

    public LocalDomainPredicate? IsLocal { get; }

    /// <summary>The keys for <paramref name="address"/>, in lookup order. <paramref name="scratch"/>
    /// must hold at least address.Length bytes; keys that are not slices of the address are built there.</summary>
    public AddressKeyEnumerator GetKeys(ReadOnlySpan<byte> address, Span<byte> scratch)
    {
        if (scratch.Length < address.Length) throw new ArgumentException("scratch buffer shorter than the address", nameof(scratch));
        int at = address.LastIndexOf((byte)'@');
        int extension = (Strategy & AddressKeyStrategy.NoExtension) != 0 ? ExtensionStart(at < 0 ? address : address[..at]) : -1;
        return new AddressKeyEnumerator(this, address, scratch, at, extension);
    }

    /// <summary>Searches <paramref name="tables"/> key by key (each key in every table before the
    /// next key, as Postfix's maps_find()). <paramref name="extension"/> is the part that had to be
    /// removed to match ("+ext", delimiter included), or empty.</summary>
    public bool TryFind(LookupTableList tables, ReadOnlySpan<byte> address, out ReadOnlySpan<byte> value, out ReadOnlySpan<byte> extension)
    {
        const int StackLimit = 512;
        byte[]? rented = null;
        Span<byte> scratch = address.Length <= StackLimit ? stackalloc byte[StackLimit] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(address.Length));
        try
        {
            foreach (var key in GetKeys(address, scratch))
            {
                if (tables.TryFind(key.Key, key.Partial, out value))
                {
                    extension = address[key.ExtensionRange];
                    return true;
                }
            }
        }
        finally
        {
            if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
        value = default;
        extension = default;
        return false;
    }

    /// <summary>Index of the recipient delimiter that starts the extension in <paramref name="localpart"/>, or -1.</summary>
    internal int ExtensionStart(ReadOnlySpan<byte> localpart)
    {
        if (_delimiters.Length == 0) return -1;
        if (Ascii.EqualsIgnoreCase(localpart, "postmaster"u8) || Ascii.EqualsIgnoreCase(localpart, "mailer-daemon"u8)
            || Ascii.EqualsIgnoreCase(localpart, _doubleBounce)) return -1;
        if (_delimiters.AsSpan().IndexOf((byte)'-') >= 0
            && (StartsWithIgnoreCase(localpart, "owner-"u8) || (localpart.Length > 8 && Ascii.EqualsIgnoreCase(localpart[^8..], "-request"u8))))
            return -1;
        int i = localpart.IndexOfAny(_delimiters);
        return i <= 0 ? -1 : i; // no split when the localpart would become empty
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> s, ReadOnlySpan<byte> prefix) =>
        s.Length >= prefix.Length && Ascii.EqualsIgnoreCase(s[..prefix.Length], prefix);
}
