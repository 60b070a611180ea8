// Postfix lookup tables (man 5 postconf "type:name"; Postfix's dict(3) interface), the read
// side: a key gives a value, nothing, or an error. Keys are matched as given apart from case
// folding, which a table does itself when it was opened to fold (postmap -f turns that off);
// callers do Postfix's per-map key order (AddressKeyOrder for virtual(5), canonical(5),
// access(5); transport(5) in trivial-rewrite). Keys are untrusted (they come from mail).
using System.Buffers;
using System.Text;

namespace Postfix.Core.Tables;

public interface ILookupTable
{
    /// <summary>The table as configured, e.g. "hash:/etc/postfix/transport".</summary>
    string Name { get; }

    /// <summary>True for tables of patterns (regexp:, pcre:). Postfix sends them only whole
    /// keys (the full address), never the partial keys of an address search (maps_find() with
    /// DICT_FLAG_FIXED), so "user" cannot match a pattern written for "user@domain".</summary>
    bool IsPattern => false;

    /// <summary>
    /// Looks up a UTF-8 key. On a hit <paramref name="value"/> is the UTF-8 result. It is valid
    /// until the next lookup in this table on this thread (Postfix's rule for dict results);
    /// tables over immutable data (hash:, texthash:, inline:, static:) in fact return memory that
    /// lives as long as the table. The value never points into the key. Allocates nothing for
    /// hash: and friends.
    /// </summary>
    /// <exception cref="TableLookupException">The table could not answer (Postfix's
    /// DICT_ERR_RETRY, e.g. a regular expression ran past its time limit): the caller defers the
    /// mail; it must not take this as "not found".</exception>
    bool TryLookup(scoped ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value);

    /// <summary>String form of <see cref="TryLookup"/> for callers off the hot path.</summary>
    string? Lookup(string key) => LookupString(this, key);

    /// <summary>The string lookup over <see cref="TryLookup"/> (UTF-8 both ways), for implementations to reuse.</summary>
    public static string? LookupString(ILookupTable table, string key)
    {
        const int StackLimit = 256;
        int max = Encoding.UTF8.GetMaxByteCount(key.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int n = Encoding.UTF8.GetBytes(key, buffer);
            return table.TryLookup(buffer[..n], out var value) ? Encoding.UTF8.GetString(value) : null;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
