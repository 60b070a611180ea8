// A list of tables searched as one (Postfix's maps.c, maps_find()): each key is tried against
// every table in order, first hit wins. A partial key (a derived address key such as "user" or
// "@domain") skips pattern tables, as Postfix's DICT_FLAG_FIXED does, so regexp: and pcre: see
// only whole addresses. Immutable; built from main.cf (trusted); keys are untrusted.
namespace Postfix.Core.Tables;

public sealed class LookupTableList(ILookupTable[] tables)
{
    public int Count => tables.Length;

    public IReadOnlyList<ILookupTable> Tables => tables;

    /// <summary>First hit in list order. <paramref name="partial"/>: the key is derived from an
    /// address (not the whole of it) and is not offered to pattern tables.</summary>
    public bool TryFind(scoped ReadOnlySpan<byte> key, bool partial, out ReadOnlySpan<byte> value)
    {
        foreach (var table in tables)
        {
            if (partial && table.IsPattern) continue;
            if (table.TryLookup(key, out value)) return true;
        }
        value = default;
        return false;
    }

    public string? Lookup(string key)
    {
        foreach (var table in tables)
        {
            if (table.Lookup(key) is { } v) return v;
        }
        return null;
    }
}
