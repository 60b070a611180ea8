// Which keys an address lookup tries, in this order (Postfix's mail_addr_find_opt() MA_FIND_*
// flags). The presets name the maps that use them. Trusted: chosen in code per map.
namespace Postfix.Core.Tables;

[Flags]
public enum AddressKeyStrategy
{
    None = 0,

    /// <summary>user+ext@domain, the whole address (the only key pattern tables see).</summary>
    Full = 1 << 0,

    /// <summary>user@domain: the address without its extension (needs recipient_delimiter);
    /// also enables the extension-less forms of the localpart steps below.</summary>
    NoExtension = 1 << 1,

    /// <summary>user+ext, then user: when the domain is local (myorigin, mydestination, interfaces).</summary>
    LocalpartIfLocal = 1 << 2,

    /// <summary>user+ext@, then user@: when the domain is local.</summary>
    LocalpartAtIfLocal = 1 << 3,

    /// <summary>@domain: the catch-all for the domain.</summary>
    AtDomain = 1 << 4,

    /// <summary>domain (the access(5) form).</summary>
    Domain = 1 << 5,

    /// <summary>With Domain: then parent domains as "example.com", "com".</summary>
    ParentMatchesSubdomains = 1 << 6,

    /// <summary>With Domain: then parent domains as ".example.com", ".com".</summary>
    ParentDotSubdomains = 1 << 7,

    /// <summary>user+ext@, then user@, whatever the domain (the access(5) form).</summary>
    LocalpartAt = 1 << 8,

    /// <summary>virtual(5) virtual_alias_maps, canonical(5) canonical_maps and
    /// sender_/recipient_canonical_maps, sender_/recipient_bcc_maps, smtp_generic_maps:
    /// user+ext@domain, user@domain, user+ext, user (local domains only), @domain.</summary>
    Default = Full | NoExtension | LocalpartIfLocal | AtDomain,

    /// <summary>virtual(8) virtual_mailbox_maps, virtual_uid_maps, virtual_gid_maps:
    /// user+ext@domain, user@domain, @domain.</summary>
    VirtualMailbox = Full | NoExtension | AtDomain,

    /// <summary>access(5) check_sender_access, check_recipient_access and friends:
    /// user+ext@domain, user@domain, domain, .parent domains, user+ext@, user@ (parent
    /// domains with the dot, as when parent_domain_matches_subdomains omits smtpd_access_maps,
    /// Postfix's default from compatibility_level 1).</summary>
    Access = Full | NoExtension | Domain | ParentDotSubdomains | LocalpartAt,
}
