// static:value (man 5 postconf): every lookup returns the value.
namespace Postfix.Core.Tables;

public sealed class StaticTable(string value) : ILookupTable
{
    public string Name => "static:" + value;
    public string? Lookup(string key) => value;
}
