// trivial-rewrite(8)'s canonical form for locally submitted mail (rewrite
// context "local"): an address without a domain gets "@$myorigin"
// (append_at_myorigin = yes), and with append_dot_mydomain = yes a domain
// without a dot gets ".$mydomain" (user@host -> user@host.example.com). The
// null sender stays empty. Input: envelope addresses (untrusted); the
// settings are trusted configuration.
namespace Postfix.Core.Rewrite;

public sealed record AddressCanonical(string MyOrigin, string MyDomain = "", bool AppendAtMyOrigin = true, bool AppendDotMyDomain = false)
{
    /// <summary>The canonical form of <paramref name="address"/> under these settings.</summary>
    public string Rewrite(string address)
    {
        if (address.Length == 0) return address;
        if (AppendAtMyOrigin) address = AppendMyOrigin(address, MyOrigin);
        if (!AppendDotMyDomain || MyDomain.Length == 0) return address;
        int at = address.LastIndexOf('@');
        if (at < 0 || at == address.Length - 1 || address.IndexOf('"', at) >= 0) return address;
        var domain = address[(at + 1)..];
        if (domain.Contains('.') || domain.StartsWith('[')) return address;
        return address + "." + MyDomain;
    }

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
