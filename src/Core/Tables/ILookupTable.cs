// Postfix lookup tables (man 5 postconf: "type:name"), the read side: a key
// gives a value or nothing. Keys are matched as given; callers do Postfix's
// per-map key order (transport(5), virtual(5), ...). The issue for tables adds
// hash: (postmap), regexp: and pcre:.
namespace Postfix.Core.Tables;

public interface ILookupTable
{
    /// <summary>The table as configured, e.g. "texthash:/etc/postfix/transport".</summary>
    string Name { get; }

    string? Lookup(string key);
}
