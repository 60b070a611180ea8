// static:value (man 5 postconf): every lookup returns the value. Trusted: from main.cf.
using System.Text;

namespace Postfix.Core.Tables;

public sealed class StaticTable(string value) : ILookupTable
{
    private readonly byte[] _utf8 = Encoding.UTF8.GetBytes(value);

    public string Name => "static:" + value;

    public bool TryLookup(scoped ReadOnlySpan<byte> key, out ReadOnlySpan<byte> result)
    {
        result = _utf8;
        return true;
    }

    public string? Lookup(string key) => value;
}
