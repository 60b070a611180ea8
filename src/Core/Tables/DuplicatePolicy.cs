// What a table build does with a key it already has (postmap(1): default warn and keep the
// first, -r replace, -w ignore silently). Trusted: from command-line flags.
namespace Postfix.Core.Tables;

public enum DuplicatePolicy
{
    /// <summary>Keep the first value and warn "duplicate entry" (postmap's default).</summary>
    Warn,

    /// <summary>Keep the first value silently (postmap -w).</summary>
    Ignore,

    /// <summary>Take the later value silently (postmap -r).</summary>
    Replace,
}
