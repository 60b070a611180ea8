// smtpd_check(3): Postfix's SMTP access restrictions. Lists by stage:
// smtpd_client_restrictions, smtpd_helo_restrictions,
// smtpd_sender_restrictions, smtpd_relay_restrictions,
// smtpd_recipient_restrictions and smtpd_data_restrictions. With
// smtpd_delay_reject = yes (Postfix's default, and ours always) the client,
// helo and sender lists are evaluated at RCPT TO, then relay and recipient.
// Within a list the first permit / reject / defer decides that list; "permit"
// and "OK" end only that list, a reject ends the whole check; a list that
// decides nothing lets the request through. A table that cannot answer
// (TableLookupException) makes the check answer 451 4.3.0 "Temporary lookup
// failure", as Postfix's reject_dict_retry(). Access tables (access(5)) answer
// OK, REJECT [text], DEFER [text], DUNNO, a 4xx/5xx reply, or more
// restrictions. The parsed lists are trusted configuration; every value the
// client sent (address, HELO name) is untrusted and only ever used as a
// lookup key or echoed in a reply.
using System.Net;
using System.Net.Sockets;
using Postfix.Core.Config;
using Postfix.Core.Tables;

namespace Postfix.Protocols.Smtpd;

public enum RestrictionKind : byte
{
    Permit, Reject, Defer, DeferIfPermit,
    PermitMyNetworks, PermitSaslAuthenticated, PermitAuthDestination,
    RejectUnauthDestination, DeferUnauthDestination,
    RejectNonFqdnSender, RejectNonFqdnRecipient, RejectNonFqdnHeloHostname, RejectInvalidHeloHostname,
    RejectUnauthPipelining, Sleep,
    RejectRblClient, RejectUnknownSenderDomain, RejectUnlistedRecipient,
    CheckClientAccess, CheckHeloAccess, CheckSenderAccess, CheckRecipientAccess,
}

public sealed record Restriction(RestrictionKind Kind, ILookupTable? Table = null, int Seconds = 0, string Arg = "");

public enum RestrictionStage : byte { Client, Helo, Sender, Relay, Recipient, Data }

/// <summary>The parsed restriction lists of one smtpd service.</summary>
public sealed class SmtpdRestrictions
{
    public static SmtpdRestrictions Default { get; } = new(
        [], [], [], [new(RestrictionKind.PermitMyNetworks), new(RestrictionKind.PermitSaslAuthenticated), new(RestrictionKind.DeferUnauthDestination)], [], []);

    public SmtpdRestrictions(Restriction[] client, Restriction[] helo, Restriction[] sender, Restriction[] relay, Restriction[] recipient, Restriction[] data)
    {
        Client = client; Helo = helo; Sender = sender; Relay = relay; Recipient = recipient; Data = data;
    }

    public Restriction[] Client { get; }
    public Restriction[] Helo { get; }
    public Restriction[] Sender { get; }
    public Restriction[] Relay { get; }
    public Restriction[] Recipient { get; }
    public Restriction[] Data { get; }

    /// <summary>"sleep N" in smtpd_client_restrictions: pause before the greeting (with reject_unauth_pipelining, catches early talkers).</summary>
    public TimeSpan GreetPause => TimeSpan.FromSeconds(Client.Where(r => r.Kind == RestrictionKind.Sleep).Sum(r => r.Seconds));

    /// <summary>True when some list uses reject_unauth_pipelining (smtpd then watches for clients that talk first).</summary>
    public bool WatchesPipelining => new[] { Client, Helo, Sender, Relay, Recipient, Data }.Any(l => l.Any(r => r.Kind == RestrictionKind.RejectUnauthPipelining));

    /// <summary>The restrictions that need DNS answers before they can be evaluated (smtpd looks them up asynchronously).</summary>
    public IEnumerable<Restriction> DnsRestrictions => new[] { Client, Helo, Sender, Relay, Recipient }.SelectMany(l => l)
        .Where(r => r.Kind is RestrictionKind.RejectRblClient or RestrictionKind.RejectUnknownSenderDomain);

    public bool NeedsDns => DnsRestrictions.Any();

    public bool Uses(RestrictionKind kind) => new[] { Client, Helo, Sender, Relay, Recipient, Data }.Any(l => l.Any(r => r.Kind == kind));

    /// <summary>Only the default relay list: smtpd keeps its allocation-free fast path.</summary>
    public bool IsDefault => ReferenceEquals(this, Default);

    public static SmtpdRestrictions Parse(Func<string, string> get, string? baseDirectory)
    {
        var relay = ParseList(get("smtpd_relay_restrictions"), "smtpd_relay_restrictions", baseDirectory);
        var recipient = ParseList(get("smtpd_recipient_restrictions"), "smtpd_recipient_restrictions", baseDirectory);
        // Postfix refuses to run as an open relay: one of the two lists must stop unauthorised relaying.
        static bool Guards(Restriction[] l) => l.Any(r => r.Kind is RestrictionKind.RejectUnauthDestination
            or RestrictionKind.DeferUnauthDestination or RestrictionKind.Reject or RestrictionKind.Defer);
        if (!Guards(relay) && !Guards(recipient))
            throw new ConfigException("smtpd_relay_restrictions and smtpd_recipient_restrictions: neither has reject_unauth_destination, defer_unauth_destination or reject: this would be an open relay");
        // smtpd_reject_unlisted_recipient: the implicit check at the end of the recipient restrictions.
        if (string.Equals(get("smtpd_reject_unlisted_recipient"), "yes", StringComparison.OrdinalIgnoreCase))
            recipient = [.. recipient, new Restriction(RestrictionKind.RejectUnlistedRecipient)];
        var r = new SmtpdRestrictions(
            ParseList(get("smtpd_client_restrictions"), "smtpd_client_restrictions", baseDirectory),
            ParseList(get("smtpd_helo_restrictions"), "smtpd_helo_restrictions", baseDirectory),
            ParseList(get("smtpd_sender_restrictions"), "smtpd_sender_restrictions", baseDirectory),
            relay, recipient,
            ParseList(get("smtpd_data_restrictions"), "smtpd_data_restrictions", baseDirectory));
        bool isDefault = r.Client.Length == 0 && r.Helo.Length == 0 && r.Sender.Length == 0 && r.Recipient.Length == 0 && r.Data.Length == 0
            && relay.Select(x => x.Kind).SequenceEqual(Default.Relay.Select(x => x.Kind));
        return isDefault ? Default : r;
    }

    public static Restriction[] ParseList(string value, string parameter, string? baseDirectory)
    {
        var items = LookupTables.SplitList(value);
        var list = new List<Restriction>();
        for (int i = 0; i < items.Count; i++)
        {
            var name = items[i].ToLowerInvariant();
            RestrictionKind? tableKind = name switch
            {
                "check_client_access" => RestrictionKind.CheckClientAccess,
                "check_helo_access" => RestrictionKind.CheckHeloAccess,
                "check_sender_access" => RestrictionKind.CheckSenderAccess,
                "check_recipient_access" => RestrictionKind.CheckRecipientAccess,
                _ => null,
            };
            if (name == "reject_rbl_client")
            {
                if (++i >= items.Count || items[i].Contains(':')) throw new ConfigException($"{parameter}: reject_rbl_client requires a DNSBL domain");
                list.Add(new Restriction(RestrictionKind.RejectRblClient, Arg: items[i].ToLowerInvariant()));
                continue;
            }
            if (name == "sleep")
            {
                if (++i >= items.Count || !int.TryParse(items[i], out int secs) || secs < 0 || secs > 300)
                    throw new ConfigException($"{parameter}: sleep requires a number of seconds (0-300)");
                list.Add(new Restriction(RestrictionKind.Sleep, Seconds: secs));
                continue;
            }
            if (tableKind is { } tk)
            {
                if (++i >= items.Count) throw new ConfigException($"{parameter}: {name} requires a type:table argument");
                list.Add(new Restriction(tk, LookupTables.Open(items[i], baseDirectory)));
                continue;
            }
            list.Add(new Restriction(name switch
            {
                "permit" => RestrictionKind.Permit,
                "reject" => RestrictionKind.Reject,
                "defer" => RestrictionKind.Defer,
                "defer_if_permit" => RestrictionKind.DeferIfPermit,
                "permit_mynetworks" => RestrictionKind.PermitMyNetworks,
                "permit_sasl_authenticated" => RestrictionKind.PermitSaslAuthenticated,
                "permit_auth_destination" => RestrictionKind.PermitAuthDestination,
                "reject_unauth_destination" => RestrictionKind.RejectUnauthDestination,
                "defer_unauth_destination" => RestrictionKind.DeferUnauthDestination,
                "reject_non_fqdn_sender" => RestrictionKind.RejectNonFqdnSender,
                "reject_non_fqdn_recipient" => RestrictionKind.RejectNonFqdnRecipient,
                "reject_non_fqdn_helo_hostname" or "reject_non_fqdn_hostname" => RestrictionKind.RejectNonFqdnHeloHostname,
                "reject_invalid_helo_hostname" or "reject_invalid_hostname" => RestrictionKind.RejectInvalidHeloHostname,
                "reject_unauth_pipelining" => RestrictionKind.RejectUnauthPipelining,
                "reject_unknown_sender_domain" => RestrictionKind.RejectUnknownSenderDomain,
                "reject_unlisted_recipient" or "check_recipient_maps" => RestrictionKind.RejectUnlistedRecipient,
                _ => throw new ConfigException($"{parameter}: unsupported restriction \"{items[i]}\""),
            }));
        }
        return list.ToArray();
    }
}

/// <summary>What one check sees of the session (strings are fine here: restrictions are off the fast path).</summary>
public sealed class SmtpdCheckContext
{
    public required IPAddress? Client { get; init; }
    public required string ClientLabel { get; init; }   // unknown[1.2.3.4]
    public required bool InMyNetworks { get; init; }
    public bool Authenticated { get; set; }
    public bool UnauthPipelining { get; set; }
    public string Helo { get; set; } = "";
    public string Sender { get; set; } = "";
    public string Recipient { get; set; } = "";
    public required Func<string, bool> IsAuthDestination { get; init; }

    /// <summary>reject_unlisted_recipient: the reason ("User unknown in local recipient table") or null when listed.</summary>
    public Func<string, string?>? UnlistedRecipient { get; init; }

    /// <summary>Receives the message of a table that could not answer (logged as a warning).</summary>
    public Action<string>? Warn { get; init; }

    /// <summary>DNSBL answers gathered before evaluation: domain -> TXT text ("" when none), absent = not listed.</summary>
    public Dictionary<string, string> RblListed { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>reject_unknown_sender_domain's DNS answer for the current sender's domain.</summary>
    public DomainStatus SenderDomain { get; set; } = DomainStatus.Found;
}

public enum DomainStatus : byte { Found, NotFound, TempFail }

public static class SmtpdCheck
{
    private enum Verdict : byte { Dunno, Permit, Reject }

    /// <summary>Evaluates the lists in order; null = accepted, else the full reply line (without CRLF).</summary>
    public static string? Evaluate(SmtpdCheckContext ctx, params Restriction[][] lists)
    {
        bool deferIfPermit = false;
        foreach (var list in lists)
        {
            var (verdict, reply) = EvaluateList(ctx, list, ref deferIfPermit);
            if (verdict == Verdict.Reject) return reply;
        }
        return deferIfPermit ? "450 4.7.1 Service unavailable" : null;
    }

    private static (Verdict, string?) EvaluateList(SmtpdCheckContext ctx, Restriction[] list, ref bool deferIfPermit)
    {
        foreach (var r in list)
        {
            Verdict v;
            string? reply;
            try { (v, reply) = EvaluateOne(ctx, r, ref deferIfPermit); }
            catch (TableLookupException e)
            {
                // Postfix's reject_dict_retry(): a table that cannot answer (DICT_ERR_RETRY) defers;
                // it is never "not found" (that could reject or relay what the table would not).
                ctx.Warn?.Invoke(e.Message);
                return Reject($"451 4.3.0 <{ReplyName(ctx, r.Kind)}>: Temporary lookup failure");
            }
            if (v != Verdict.Dunno) return (v, reply);
        }
        return (Verdict.Dunno, null);
    }

    /// <summary>What a temporary lookup failure names, as Postfix's reply_name: the client, HELO
    /// name or sender for their checks, otherwise the recipient.</summary>
    private static string ReplyName(SmtpdCheckContext ctx, RestrictionKind kind) => kind switch
    {
        RestrictionKind.CheckClientAccess => ctx.ClientLabel,
        RestrictionKind.CheckHeloAccess => ctx.Helo,
        RestrictionKind.CheckSenderAccess => ctx.Sender,
        _ => ctx.Recipient.Length > 0 ? ctx.Recipient : ctx.Sender.Length > 0 ? ctx.Sender : ctx.ClientLabel,
    };

    private static (Verdict, string?) EvaluateOne(SmtpdCheckContext ctx, Restriction r, ref bool deferIfPermit)
    {
        string rcpt = ctx.Recipient, sender = ctx.Sender;
        switch (r.Kind)
        {
            case RestrictionKind.Permit: return (Verdict.Permit, null);
            case RestrictionKind.Reject: return Reject($"554 5.7.1 {Subject(ctx)}: Access denied");
            case RestrictionKind.Defer: return Reject($"450 4.7.1 {Subject(ctx)}: Access denied");
            case RestrictionKind.DeferIfPermit: deferIfPermit = true; return (Verdict.Dunno, null);
            case RestrictionKind.PermitMyNetworks: return ctx.InMyNetworks ? (Verdict.Permit, null) : (Verdict.Dunno, null);
            case RestrictionKind.PermitSaslAuthenticated: return ctx.Authenticated ? (Verdict.Permit, null) : (Verdict.Dunno, null);
            case RestrictionKind.PermitAuthDestination:
                return rcpt.Length > 0 && ctx.IsAuthDestination(rcpt) ? (Verdict.Permit, null) : (Verdict.Dunno, null);
            case RestrictionKind.RejectUnauthDestination:
                return rcpt.Length > 0 && !ctx.IsAuthDestination(rcpt) ? Reject($"554 5.7.1 <{rcpt}>: Relay access denied") : (Verdict.Dunno, null);
            case RestrictionKind.DeferUnauthDestination:
                return rcpt.Length > 0 && !ctx.IsAuthDestination(rcpt) ? Reject($"454 4.7.1 <{rcpt}>: Relay access denied") : (Verdict.Dunno, null);
            case RestrictionKind.RejectNonFqdnSender:
                return sender.Length > 0 && !IsFqdnAddress(sender) ? Reject($"504 5.5.2 <{sender}>: Sender address rejected: need fully-qualified address") : (Verdict.Dunno, null);
            case RestrictionKind.RejectNonFqdnRecipient:
                return rcpt.Length > 0 && !IsFqdnAddress(rcpt) ? Reject($"504 5.5.2 <{rcpt}>: Recipient address rejected: need fully-qualified address") : (Verdict.Dunno, null);
            case RestrictionKind.RejectNonFqdnHeloHostname:
                return ctx.Helo.Length > 0 && !IsAddressLiteral(ctx.Helo) && !ctx.Helo.Contains('.')
                    ? Reject($"504 5.5.2 <{ctx.Helo}>: Helo command rejected: need fully-qualified hostname") : (Verdict.Dunno, null);
            case RestrictionKind.RejectInvalidHeloHostname:
                return ctx.Helo.Length > 0 && !IsValidHostname(ctx.Helo)
                    ? Reject($"501 5.5.2 <{ctx.Helo}>: Helo command rejected: Invalid name") : (Verdict.Dunno, null);
            case RestrictionKind.RejectUnauthPipelining:
                return ctx.UnauthPipelining ? Reject("503 5.5.0 Error: improper use of SMTP command pipelining") : (Verdict.Dunno, null);
            case RestrictionKind.RejectUnlistedRecipient:
                return rcpt.Length > 0 && ctx.UnlistedRecipient?.Invoke(rcpt) is { } why
                    ? Reject($"550 5.1.1 <{rcpt}>: Recipient address rejected: {why}") : (Verdict.Dunno, null);
            case RestrictionKind.RejectRblClient:
                return ctx.RblListed.TryGetValue(r.Arg, out var txt)
                    ? Reject($"554 5.7.1 Service unavailable; Client host [{ctx.Client}] blocked using {r.Arg}{(txt.Length > 0 ? "; " + txt : "")}")
                    : (Verdict.Dunno, null);
            case RestrictionKind.RejectUnknownSenderDomain:
                if (sender.Length == 0) return (Verdict.Dunno, null);
                return ctx.SenderDomain switch
                {
                    DomainStatus.NotFound => Reject($"450 4.1.8 <{sender}>: Sender address rejected: Domain not found"),
                    DomainStatus.TempFail => Reject($"451 4.3.0 <{sender}>: Temporary lookup failure"),
                    _ => (Verdict.Dunno, null),
                };
            case RestrictionKind.CheckClientAccess:
                return Access(ctx, r.Table!, ClientKeys(ctx.Client), $"<{ctx.ClientLabel}>", "Client host", ref deferIfPermit);
            case RestrictionKind.CheckHeloAccess:
                return ctx.Helo.Length == 0 ? (Verdict.Dunno, null)
                    : Access(ctx, r.Table!, DomainKeys(ctx.Helo.ToLowerInvariant()), $"<{ctx.Helo}>", "Helo command", ref deferIfPermit);
            case RestrictionKind.CheckSenderAccess:
                return Access(ctx, r.Table!, AddressKeys(sender), $"<{sender}>", "Sender address", ref deferIfPermit);
            case RestrictionKind.CheckRecipientAccess:
                return rcpt.Length == 0 ? (Verdict.Dunno, null)
                    : Access(ctx, r.Table!, AddressKeys(rcpt), $"<{rcpt}>", "Recipient address", ref deferIfPermit);
        }
        return (Verdict.Dunno, null);
    }

    private static (Verdict, string?) Reject(string reply) => (Verdict.Reject, reply);

    private static string Subject(SmtpdCheckContext ctx) =>
        ctx.Recipient.Length > 0 ? $"<{ctx.Recipient}>: Recipient address rejected"
        : ctx.Sender.Length > 0 ? $"<{ctx.Sender}>: Sender address rejected"
        : $"<{ctx.ClientLabel}>: Client host rejected";

    /// <summary>access(5) result handling; the first key that is found decides.</summary>
    private static (Verdict, string?) Access(SmtpdCheckContext ctx, ILookupTable table, IEnumerable<string> keys, string subject,
        string what, ref bool deferIfPermit)
    {
        foreach (var key in keys)
        {
            if (table.Lookup(key) is not { } value) continue;
            var v = value.Trim();
            int sp = v.IndexOfAny([' ', '\t']);
            var word = (sp < 0 ? v : v[..sp]).ToUpperInvariant();
            var text = sp < 0 ? "" : v[(sp + 1)..].Trim();
            switch (word)
            {
                case "OK" or "PERMIT": return (Verdict.Permit, null);
                case "DUNNO": return (Verdict.Dunno, null);
                case "REJECT": return Reject($"554 5.7.1 {subject}: {what} rejected: {(text.Length > 0 ? text : "Access denied")}");
                case "DEFER":
                    return Reject($"450 4.7.1 {subject}: {what} rejected: {(text.Length > 0 ? text : "Access denied")}");
                case "DEFER_IF_PERMIT": deferIfPermit = true; return (Verdict.Dunno, null);
            }
            if (word.Length == 3 && word[0] is '4' or '5' && word.All(char.IsAsciiDigit))
            {
                // "550 text" or "550 5.7.1 text": the operator's own reply.
                var dsn = $"{word[0]}.7.1";
                int tsp = text.IndexOf(' ');
                var firstWord = tsp < 0 ? text : text[..tsp];
                if (firstWord.Split('.') is { Length: 3 } parts && parts[0] == word[..1] && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit)))
                {
                    dsn = firstWord;
                    text = tsp < 0 ? "" : text[(tsp + 1)..];
                }
                return Reject($"{word} {dsn} {subject}: {what} rejected: {(text.Length > 0 ? text : "Access denied")}");
            }
            // Anything else: a restriction list of its own (e.g. "permit_mynetworks, reject").
            try
            {
                var nested = SmtpdRestrictions.ParseList(v, table.Name, null);
                return EvaluateList(ctx, nested, ref deferIfPermit);
            }
            catch (ConfigException)
            {
                return Reject($"451 4.3.5 {subject}: {what} rejected: Server configuration error");
            }
        }
        return (Verdict.Dunno, null);
    }

    /// <summary>check_client_access keys: the address, then its network prefixes ("1.2.3", "1.2", "1"; IPv6 by ':' groups).</summary>
    public static IEnumerable<string> ClientKeys(IPAddress? client)
    {
        if (client is null) yield break;
        var text = client.ToString();
        yield return text;
        char sep = client.AddressFamily == AddressFamily.InterNetworkV6 ? ':' : '.';
        for (int i = text.LastIndexOf(sep); i > 0; i = text.LastIndexOf(sep, i - 1))
        {
            var prefix = text[..i].TrimEnd(':');
            if (prefix.Length > 0) yield return prefix;
        }
    }

    /// <summary>access(5) address keys: user@domain, domain and parent domains, user@ (lowercased).</summary>
    public static IEnumerable<string> AddressKeys(string address)
    {
        if (address.Length == 0) { yield return "<>"; yield break; }
        var a = address.ToLowerInvariant();
        yield return a;
        int at = a.LastIndexOf('@');
        if (at < 0) yield break;
        foreach (var d in DomainKeys(a[(at + 1)..])) yield return d;
        yield return a[..(at + 1)];
    }

    /// <summary>A domain and its parents (smtpd_access_maps is in parent_domain_matches_subdomains): a.b.c, b.c, c.</summary>
    public static IEnumerable<string> DomainKeys(string domain)
    {
        for (int i = 0; i >= 0 && i < domain.Length; i = domain.IndexOf('.', i) is var d && d < 0 ? -1 : d + 1)
            yield return domain[i..];
    }

    private static bool IsAddressLiteral(string s) => s.StartsWith('[') && s.EndsWith(']');

    private static bool IsFqdnAddress(string address)
    {
        int at = address.LastIndexOf('@');
        if (at < 0) return false;
        var d = address[(at + 1)..];
        return IsAddressLiteral(d) || d.Trim('.').Contains('.');
    }

    private static bool IsValidHostname(string name)
    {
        if (IsAddressLiteral(name)) return IPAddress.TryParse(name[1..^1].Replace("IPv6:", "", StringComparison.OrdinalIgnoreCase), out _);
        if (name.Length > 255) return false;
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (char c in label) if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_') return false;
        }
        return true;
    }
}
