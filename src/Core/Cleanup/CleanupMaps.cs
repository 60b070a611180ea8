// cleanup(8)'s envelope address maps, applied once per message on the single
// path every source takes (smtpd, qmqpd, pickup), in Postfix's order:
//   sender:     sender_canonical_maps, canonical_maps; then sender_bcc_maps
//   recipients: recipient_canonical_maps, canonical_maps; recipient_bcc_maps;
//               then virtual_alias_maps, recursively (virtual_alias_recursion_limit,
//               virtual_alias_expansion_limit; an address that maps to itself stops)
//   always_bcc; then the duplicate filter: each final recipient once.
// Key order (canonical(5), virtual(5)): user+ext@domain, user@domain, and for
// local domains (mydestination, myorigin) user+ext, user; then @domain. A
// result "@otherdomain" keeps the user; propagate_unmatched_extensions puts an
// unmatched +ext back on the result. The trace lists each step (explain).
// Input addresses come from the envelope (untrusted, syntax-checked by the
// receiving daemon); tables are trusted configuration. A table that cannot answer
// (TableLookupException) fails the whole rewrite before the message is changed:
// the message is refused with a 4xx, never queued with an address unexpanded.
using System.Text;
using Postfix.Core.Queue;
using Postfix.Core.Rewrite;
using Postfix.Core.Tables;

namespace Postfix.Core.Cleanup;

public sealed record CleanupMapsSettings
{
    public LookupTableList? CanonicalMaps { get; init; }
    public LookupTableList? SenderCanonicalMaps { get; init; }
    public LookupTableList? RecipientCanonicalMaps { get; init; }
    public LookupTableList? VirtualAliasMaps { get; init; }
    public LookupTableList? SenderBccMaps { get; init; }
    public LookupTableList? RecipientBccMaps { get; init; }
    public string AlwaysBcc { get; init; } = "";
    public string RecipientDelimiter { get; init; } = "";
    public string MyOrigin { get; init; } = "";
    public Func<string, bool> IsLocalDomain { get; init; } = _ => false;
    public bool PropagateCanonical { get; init; } = true;
    public bool PropagateVirtual { get; init; } = true;
    public int VirtualAliasExpansionLimit { get; init; } = 1000;
    public int VirtualAliasRecursionLimit { get; init; } = 1000;

    public bool Any => CanonicalMaps is not null || SenderCanonicalMaps is not null || RecipientCanonicalMaps is not null
        || VirtualAliasMaps is not null || SenderBccMaps is not null || RecipientBccMaps is not null || AlwaysBcc.Length > 0;
}

public sealed class CleanupMaps
{
    private const int CanonicalRecursionLimit = 10;
    private readonly CleanupMapsSettings s;
    private readonly AddressKeyOrder _order;

    public CleanupMaps(CleanupMapsSettings settings)
    {
        s = settings;
        // canonical(5)/virtual(5) order; user-only keys for local domains (mydestination, myorigin).
        _order = new AddressKeyOrder(AddressKeyStrategy.Default, settings.RecipientDelimiter, domain =>
        {
            var d = Encoding.UTF8.GetString(domain);
            return settings.IsLocalDomain(d) || string.Equals(d, settings.MyOrigin, StringComparison.OrdinalIgnoreCase);
        });
    }

    public CleanupMapsSettings Settings => s;

    public sealed record Recipient(string Address, string Orcpt, DsnNotify Notify);

    /// <summary>The rewritten sender, the final recipient list and warnings (limits hit), with an optional step trace.</summary>
    public (string Sender, List<Recipient> Recipients, List<string> Warnings) Apply(string sender, IEnumerable<Recipient> recipients, List<string>? trace = null)
    {
        var warnings = new List<string>();
        var newSender = sender.Length == 0 ? sender : Canonical(sender, s.SenderCanonicalMaps, "sender_canonical_maps", trace);
        if (newSender.Length > 0) newSender = Canonical(newSender, s.CanonicalMaps, "canonical_maps", trace);
        var final = new List<Recipient>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        void Emit(Recipient r, string via)
        {
            if (seen.Add(r.Address)) final.Add(r);
            else trace?.Add($"duplicate filter: <{r.Address}> already a recipient, dropped ({via})");
        }
        void Expand(string address, string orcpt, DsnNotify notify, string via)
        {
            var c = Canonical(address, s.RecipientCanonicalMaps, "recipient_canonical_maps", trace);
            c = Canonical(c, s.CanonicalMaps, "canonical_maps", trace);
            var outList = new List<string>();
            VirtualAlias(c, 0, outList, [], warnings, trace);
            if (outList.Count > s.VirtualAliasExpansionLimit)
            {
                warnings.Add($"<{address}>: virtual_alias_expansion_limit {s.VirtualAliasExpansionLimit} exceeded");
                outList.RemoveRange(s.VirtualAliasExpansionLimit, outList.Count - s.VirtualAliasExpansionLimit);
            }
            var original = orcpt.Length > 0 ? orcpt : address;
            foreach (var a in outList)
                Emit(new Recipient(a, string.Equals(a, address, StringComparison.OrdinalIgnoreCase) ? orcpt : original, notify), via);
        }

        var given = recipients.ToList();
        foreach (var r in given) Expand(r.Address, r.Orcpt, r.Notify, "recipient");
        // BCC recipients: the archive copy never reports back to the sender (NOTIFY=NEVER).
        if (s.SenderBccMaps is not null && newSender.Length > 0 && Lookup(s.SenderBccMaps, newSender, "sender_bcc_maps", false, trace) is { } sb)
            foreach (var a in Addresses(sb.Result, newSender)) Expand(a, "", DsnNotify.Never, "sender_bcc_maps");
        if (s.RecipientBccMaps is not null)
            foreach (var r in given)
                if (Lookup(s.RecipientBccMaps, r.Address, "recipient_bcc_maps", false, trace) is { } rb)
                    foreach (var a in Addresses(rb.Result, r.Address)) Expand(a, "", DsnNotify.Never, "recipient_bcc_maps");
        if (s.AlwaysBcc.Length > 0)
        {
            trace?.Add($"always_bcc: add <{s.AlwaysBcc}>");
            Expand(AddressCanonical.AppendMyOrigin(s.AlwaysBcc, s.MyOrigin), "", DsnNotify.Never, "always_bcc");
        }
        return (newSender, final, warnings);
    }

    private string Canonical(string address, LookupTableList? map, string name, List<string>? trace)
    {
        if (map is null) return address;
        // canonical(5) mapping is recursive; a bounded number of rounds stops loops (a -> b -> a).
        for (int round = 0; round < CanonicalRecursionLimit; round++)
        {
            if (Lookup(map, address, name, s.PropagateCanonical, trace) is not { } hit) return address;
            var next = Addresses(hit.Result, address).FirstOrDefault();
            if (next is null || string.Equals(next, address, StringComparison.OrdinalIgnoreCase)) return address;
            address = next;
        }
        return address;
    }

    private void VirtualAlias(string address, int depth, List<string> output, HashSet<string> path, List<string> warnings, List<string>? trace)
    {
        if (s.VirtualAliasMaps is null || output.Count > s.VirtualAliasExpansionLimit) { output.Add(address); return; }
        if (depth >= s.VirtualAliasRecursionLimit)
        {
            warnings.Add($"<{address}>: virtual_alias_recursion_limit {s.VirtualAliasRecursionLimit} exceeded");
            output.Add(address);
            return;
        }
        if (Lookup(s.VirtualAliasMaps, address, "virtual_alias_maps", s.PropagateVirtual, trace) is not { } hit) { output.Add(address); return; }
        path.Add(address);
        foreach (var a in Addresses(hit.Result, address))
        {
            // An address that maps to itself (or back to one being expanded) is final: "user@d user@d, other@d".
            if (path.Contains(a)) { output.Add(a); continue; }
            VirtualAlias(a, depth + 1, output, path, warnings, trace);
        }
        path.Remove(address);
    }

    private readonly record struct Hit(string Key, string Result);

    /// <summary>
    /// Looks the address up in canonical(5)/virtual(5) key order (pattern tables see only the
    /// whole address). The returned result has "@otherdomain" and an unmatched extension applied.
    /// </summary>
    private Hit? Lookup(LookupTableList map, string address, string name, bool propagate, List<string>? trace)
    {
        var bytes = Encoding.UTF8.GetBytes(address);
        var scratch = new byte[bytes.Length];
        foreach (var key in _order.GetKeys(bytes, scratch))
        {
            ReadOnlySpan<byte> found;
            try
            {
                if (!map.TryFind(key.Key, key.Partial, out found)) continue;
            }
            catch (TableLookupException e)
            {
                // Postfix's cleanup_map11/1n: "map lookup problem": the message is not accepted now.
                throw new TableLookupException($"{name} map lookup problem -- message not accepted, try again later ({e.Message})", e);
            }
            var list = Addresses(Encoding.UTF8.GetString(found).Trim(), address);
            var ext = Encoding.UTF8.GetString(key.Extension);
            if (propagate && ext.Length > 0 && list.Count > 0)
            {
                // Put the unmatched +ext back on the (first) result's local part.
                var first = list[0];
                int rat = first.LastIndexOf('@');
                list[0] = rat < 0 ? first + ext : first[..rat] + ext + first[rat..];
            }
            var text = string.Join(", ", list);
            var keyText = key.ToString().ToLowerInvariant();
            trace?.Add($"{name}: <{address}> key \"{keyText}\" -> {text}");
            return new Hit(keyText, text);
        }
        return null;
    }

    /// <summary>A lookup result as addresses: "@otherdomain" keeps the user (first address only), bare names get @myorigin.</summary>
    private List<string> Addresses(string result, string input)
    {
        var list = new List<string>();
        foreach (var raw in result.Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            var a = raw.Trim('<', '>');
            if (a.StartsWith('@') && list.Count == 0)
            {
                int at = input.LastIndexOf('@');
                a = (at < 0 ? input : input[..at]) + a;
            }
            list.Add(AddressCanonical.AppendMyOrigin(a, s.MyOrigin));
        }
        return list;
    }

    private static readonly string[] SenderHeaderNames = ["from", "sender", "reply-to", "return-receipt-to", "errors-to", "resent-from", "resent-sender", "resent-reply-to"];
    private static readonly string[] RecipientHeaderNames = ["to", "cc", "bcc", "apparently-to", "resent-to", "resent-cc", "resent-bcc"];

    /// <summary>True when canonical maps are configured (headers may need rewriting too).</summary>
    public bool RewritesHeaders => s.CanonicalMaps is not null || s.SenderCanonicalMaps is not null || s.RecipientCanonicalMaps is not null;

    /// <summary>
    /// canonical_classes header_sender / header_recipient: rewrites the addresses in From:,
    /// Sender:, Reply-To:, ... with sender_canonical_maps then canonical_maps, and in To:, Cc:,
    /// Bcc:, ... with recipient_canonical_maps then canonical_maps; bare names get @$myorigin.
    /// Display names, comments and folding stay as written. Returns the number of addresses changed.
    /// </summary>
    public int RewriteHeaders(MessageBuilder m, List<string>? trace = null)
    {
        var content = m.Content.Span.ToArray();
        Bounce.HeaderSection.Find(content, out int headerEnd);
        var output = new MemoryStream(content.Length + 256);
        int copied = 0, changed = 0;
        foreach (var h in RecipientHeaders.Headers(content, headerEnd))
        {
            bool sender = Array.IndexOf(SenderHeaderNames, h.Name) >= 0;
            if (!sender && Array.IndexOf(RecipientHeaderNames, h.Name) < 0) continue;
            var raw = Encoding.UTF8.GetString(content, h.Start, h.Length);
            var rewritten = raw;
            int from = raw.IndexOf(':') + 1;
            foreach (var a in AddressList.Parse(h.Value))
            {
                var c = AddressCanonical.AppendMyOrigin(a, s.MyOrigin);
                c = sender ? Canonical(c, s.SenderCanonicalMaps, "sender_canonical_maps", trace)
                           : Canonical(c, s.RecipientCanonicalMaps, "recipient_canonical_maps", trace);
                c = Canonical(c, s.CanonicalMaps, "canonical_maps", trace);
                int at = rewritten.IndexOf(a, from, StringComparison.Ordinal);
                if (at < 0) continue;
                if (c != a)
                {
                    rewritten = rewritten[..at] + c + rewritten[(at + a.Length)..];
                    changed++;
                }
                from = at + c.Length;
            }
            if (rewritten == raw) continue;
            output.Write(content, copied, h.Start - copied);
            output.Write(Encoding.UTF8.GetBytes(rewritten));
            copied = h.Start + h.Length;
        }
        if (changed == 0) return 0;
        output.Write(content, copied, content.Length - copied);
        m.Content.Reset();
        m.Content.Write(output.GetBuffer().AsSpan(0, (int)output.Length));
        return changed;
    }

    /// <summary>Rewrites the message's envelope in place (the smtpd/qmqpd/pickup hand-off). Returns warnings.</summary>
    public List<string> Rewrite(MessageBuilder m)
    {
        var recipients = DecodeRecipients(m.RecipientBlock);
        var (sender, final, warnings) = Apply(m.SenderString(), recipients);
        if (m.HasSender) m.SetSender(Encoding.UTF8.GetBytes(sender));
        m.ClearRecipients();
        foreach (var r in final)
            m.AddRecipient(Encoding.UTF8.GetBytes(r.Address), Encoding.UTF8.GetBytes(r.Orcpt), r.Notify);
        return warnings;
    }

    public static List<Recipient> DecodeRecipients(ReadOnlySpan<byte> block)
    {
        var list = new List<Recipient>();
        int pos = 0;
        while (pos + 2 <= block.Length)
        {
            int len = block[pos] | block[pos + 1] << 8;
            var addr = Encoding.UTF8.GetString(block.Slice(pos + 2, len));
            pos += 2 + len;
            int olen = block[pos] | block[pos + 1] << 8;
            var orcpt = Encoding.UTF8.GetString(block.Slice(pos + 2, olen));
            pos += 2 + olen;
            list.Add(new Recipient(addr, orcpt, (DsnNotify)block[pos++]));
        }
        return list;
    }
}
