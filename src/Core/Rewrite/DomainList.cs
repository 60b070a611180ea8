// Postfix's domain lists (mydestination, relay_domains, virtual_alias_domains,
// virtual_mailbox_domains; match_list(3) with the domain_name matcher): plain
// names, ".example.com" for subdomains (and parent_domain_matches_subdomains
// for relay_domains), "/file" of names, and type:table entries, which match
// when the domain is a key of the table. Trusted configuration input.
using Postfix.Core.Tables;

namespace Postfix.Core.Rewrite;

public sealed class DomainList
{
    private readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _suffixes = [];     // ".example.com"
    private readonly List<ILookupTable> _tables = [];
    private readonly bool _parentMatchesSubdomains;

    public static DomainList Empty { get; } = new([], null, false);

    public DomainList(IEnumerable<string> items, string? baseDirectory, bool parentMatchesSubdomains)
    {
        _parentMatchesSubdomains = parentMatchesSubdomains;
        foreach (var raw in items)
        {
            var item = raw.Trim();
            if (item.Length == 0) continue;
            if (item.StartsWith('/'))
            {
                if (!File.Exists(item)) throw new Config.ConfigException($"domain list file {item}: No such file or directory");
                foreach (var line in File.ReadLines(item))
                {
                    var t = line.Trim();
                    if (t.Length > 0 && t[0] != '#') foreach (var w in t.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries)) Add(w);
                }
            }
            else if (item.Contains(':') && !item.StartsWith('['))
                _tables.Add(LookupTables.Open(item, baseDirectory));
            else Add(item);
        }
    }

    private void Add(string name)
    {
        name = Normalize(name);
        if (name.StartsWith('.')) _suffixes.Add(name);
        else _names.Add(name);
    }

    /// <summary>The plain domain names (for smtpd's fast byte-level accept check).</summary>
    public IEnumerable<string> Names => _names.Concat(_suffixes);

    public bool HasTables => _tables.Count > 0;

    public bool IsEmpty => _names.Count == 0 && _suffixes.Count == 0 && _tables.Count == 0;

    public bool Contains(string domain)
    {
        domain = Normalize(domain);
        if (domain.Length == 0) return false;
        if (_names.Contains(domain)) return true;
        foreach (var t in _tables) if (t.Lookup(domain) is not null) return true;
        for (int dot = domain.IndexOf('.'); dot >= 0; dot = domain.IndexOf('.', dot + 1))
        {
            var parent = domain[dot..];
            foreach (var s in _suffixes) if (string.Equals(s, parent, StringComparison.OrdinalIgnoreCase)) return true;
            if (_parentMatchesSubdomains && _names.Contains(parent[1..])) return true;
            if (_parentMatchesSubdomains) foreach (var t in _tables) if (t.Lookup(parent[1..]) is not null) return true;
        }
        return false;
    }

    public static string Normalize(string d) => d.Trim().TrimEnd('.').ToLowerInvariant();
}
