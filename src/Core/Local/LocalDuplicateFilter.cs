// Postfix's been_here() duplicate filter for one delivery request: each
// destination key ("mailbox bob", "file 1000 /x", "command ...") is acted
// on once. duplicate_filter_limit bounds what is remembered; past it,
// duplicates are no longer suppressed (never wrongly dropped).
// Keys are built from untrusted addresses; the set is bounded by the limit.
namespace Postfix.Core.Local;

public sealed class LocalDuplicateFilter(int limit)
{
    private readonly HashSet<string> _seen = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>True the first time <paramref name="key"/> is seen (or when the filter is full).</summary>
    public bool Add(string key) => _seen.Count >= limit ? !_seen.Contains(key) : _seen.Add(key);

    public bool Contains(string key) => _seen.Contains(key);
}
