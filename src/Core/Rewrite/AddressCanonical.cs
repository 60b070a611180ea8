// trivial-rewrite(8)'s canonical form for locally submitted mail (rewrite
// context "local"): an address without a domain gets "@$myorigin"
// (append_at_myorigin = yes), so "root" from cron becomes root@$myorigin.
// The null sender stays empty. The tables issue grows this into the full
// rewrite (append_dot_mydomain, swap_bangpath, ...).
namespace Postfix.Core.Rewrite;

public static class AddressCanonical
{
    public static string AppendMyOrigin(string address, string myOrigin)
    {
        if (address.Length == 0 || myOrigin.Length == 0) return address;
        // The domain starts at the last '@' (local parts may quote an '@').
        int at = address.LastIndexOf('@');
        if (at >= 0 && at < address.Length - 1 && address.IndexOf('"', at) < 0) return address;
        if (at == address.Length - 1) address = address[..^1]; // "user@" -> "user"
        return address + "@" + myOrigin;
    }
}
