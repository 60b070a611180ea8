// Address helpers for local(8): recipient_delimiter extension splitting as
// Postfix global/split_addr.c does it, and a plausibility check for
// addresses found in aliases and .forward files (untrusted text).
namespace Postfix.Core.Local;

public static class LocalAddress
{
    /// <summary>
    /// Splits "user+ext" at the first of the <paramref name="delimiters"/> characters. Never
    /// split: postmaster, mailer-daemon, and (when '-' is a delimiter) owner-* and *-request.
    /// </summary>
    public static (string User, string? Extension, char Delimiter) SplitExtension(string local, string delimiters)
    {
        if (delimiters.Length == 0 || local.Length == 0) return (local, null, '\0');
        if (local.Equals("postmaster", StringComparison.OrdinalIgnoreCase)
            || local.Equals("mailer-daemon", StringComparison.OrdinalIgnoreCase)) return (local, null, '\0');
        if (delimiters.Contains('-')
            && (local.StartsWith("owner-", StringComparison.OrdinalIgnoreCase)
                || (local.Length > 8 && local.EndsWith("-request", StringComparison.OrdinalIgnoreCase)))) return (local, null, '\0');
        int i = local.AsSpan().IndexOfAny(delimiters);
        return i < 0 ? (local, null, '\0') : (local[..i], local[(i + 1)..], local[i]);
    }

    /// <summary>Something that can be an envelope address: bounded, no controls or blanks, no empty parts.</summary>
    public static bool IsPlausible(string address)
    {
        if (address.Length == 0 || address.Length > 998) return false;
        foreach (char c in address)
            if (char.IsControl(c) || c is ' ' or '\t' or '<' or '>' or ',') return false;
        int at = address.LastIndexOf('@');
        return at != 0 && at != address.Length - 1;
    }
}
