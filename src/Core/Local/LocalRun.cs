// local(8)'s delivery of one recipient of a queued message (Postfix
// local/recipient.c, alias.c, token.c, resolve.c, indirect.c, unknown.c), in
// Postfix's order: forwarding-loop and nesting checks, alias_maps (full
// localpart, then without extension; an alias that lists its own name
// delivers to the user), then for a passwd user .forward, then the mailbox,
// and for anyone else luser_relay or a bounce. Alias results are delivered
// by type: /file, ~/file, |command, :include:, or an address that is expanded
// again here when it is local and collected for forwarding otherwise. Every
// final destination is delivered at most once per message (duplicate
// filter). The recipient address and message are untrusted; alias tables,
// passwd data and main.cf are trusted; .forward and :include: files are
// trusted only as their owners (read with the owner's rights).
using Postfix.Core.Delivery;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Core.Rewrite;

namespace Postfix.Core.Local;

internal sealed partial class LocalRun
{
    /// <summary>Postfix's fixed bound on state.level ("recipient nesting limit exceeded").</summary>
    public const int NestingLimit = 100;

    private readonly LocalSettings _s;
    private readonly LocalDuplicateFilter _dup;
    private readonly HashSet<string> _deliveredTo;
    private readonly Func<string, ResolvedAddress> _resolve;
    private readonly Maillog _log;
    private readonly CancellationToken _ct;
    private readonly List<(string Address, DsnNotify Notify)> _forward = [];

    public LocalRun(LocalSettings settings, DeliveryRequest request, QueuedRecipient recipient, LocalDuplicateFilter dup,
        HashSet<string> deliveredTo, Func<string, ResolvedAddress> resolve, Maillog log, CancellationToken ct)
    {
        _s = settings;
        Request = request;
        Top = recipient;
        _dup = dup;
        _deliveredTo = deliveredTo;
        _resolve = resolve;
        _log = log;
        _ct = ct;
    }

    public DeliveryRequest Request { get; }
    public QueuedMessage Message => Request.Message;
    public QueuedRecipient Top { get; }
    public List<LocalOutcome> Outcomes { get; } = [];

    /// <summary>Non-local destinations found while expanding, for one new message (Postfix forward_append).</summary>
    public IReadOnlyList<(string Address, DsnNotify Notify)> Forward => _forward;

    public ValueTask DeliverAsync() => RecipientAsync(new LocalState
    {
        Address = Top.Address,
        Local = "",
        User = "",
        Domain = "",
        Delivered = "",
        Rights = LocalUser.None,
    });

    private void Record(in LocalState state, DeliveryStatus status, string dsn, string text) =>
        Outcomes.Add(new LocalOutcome(state.Address, status, dsn, text));

    private void Sent(in LocalState state, string text) => Record(state, DeliveryStatus.Sent, "2.0.0", text);
    private void Bounce(in LocalState state, string dsn, string text) => Record(state, DeliveryStatus.Bounced, dsn, text);
    private void Defer(in LocalState state, string dsn, string text) => Record(state, DeliveryStatus.Deferred, dsn, text);

    private void Warn(string text) => _log.Warning(Request.Transport, $"{Message.Id}: {text}");

    // deliver_recipient(): loop and nesting checks, address parts, then the switch.
    private async ValueTask RecipientAsync(LocalState state)
    {
        state = state with { Level = state.Level + 1 };
        if (state.Level > NestingLimit)
        {
            Warn($"recipient nesting limit exceeded for {state.Address}");
            Bounce(state, "5.4.6", "recipient nesting limit exceeded");
            return;
        }
        if (!_dup.Add($"recipient {state.Level} {state.Address}")) return;
        if (_deliveredTo.Contains(state.Address.ToLowerInvariant()))
        {
            Bounce(state, "5.4.6", $"mail forwarding loop for {state.Address}");
            return;
        }
        if (state.Delivered.Length == 0) state = state with { Delivered = state.Address };

        string folded = state.Address.ToLowerInvariant();
        int at = folded.LastIndexOf('@');
        string local = at < 0 ? folded : folded[..at];
        string domain = at < 0 ? "" : folded[(at + 1)..];
        var (user, extension, delimiter) = LocalAddress.SplitExtension(local, _s.RecipientDelimiter);
        if (extension is not null && extension.Contains('/'))
        {
            Warn($"address with illegal extension: {local}");
            local = user;
            extension = null;
        }
        state = state with { Local = local, Domain = domain, User = user, Extension = extension, Delimiter = delimiter };
        if (user.Length == 0)
        {
            Bounce(state, "5.1.3", $"null username in \"{state.Address}\"");
            return;
        }
        // Postfix checks local_recipient_maps in smtpd(8); here the recipient qmgr hands us is checked.
        if (state.Level == 1 && !IsKnownLocalRecipient(state))
        {
            Bounce(state, "5.1.1", "User unknown in local recipient table");
            return;
        }
        await SwitchAsync(state).ConfigureAwait(false);
    }

    private bool IsKnownLocalRecipient(in LocalState state)
    {
        if (_s.LocalRecipientMaps.Count == 0) return true;
        string full = state.Address.ToLowerInvariant();
        string[] keys = state.Extension is null
            ? [full, state.Local]
            : [full, $"{state.User}@{state.Domain}", state.Local, state.User];
        foreach (var map in _s.LocalRecipientMaps)
            foreach (var key in keys)
                if (map(key)) return true;
        return false;
    }

    // deliver_switch(): alias, then (for passwd users) .forward and mailbox, else unknown.
    private async ValueTask SwitchAsync(LocalState state)
    {
        state = state with { Level = state.Level + 1 };
        if (await AliasAsync(state, state.Local).ConfigureAwait(false)) return;
        if (state.Extension is not null && await AliasAsync(state, state.User).ConfigureAwait(false)) return;

        // Local addresses from a .forward (of another user) or an :include: file are resubmitted.
        if (state.Owner is not null && !string.Equals(state.Owner, state.User, StringComparison.OrdinalIgnoreCase))
        {
            Indirect(state);
            return;
        }
        if (state.ExpandType == LocalExpansionType.Include)
        {
            Indirect(state);
            return;
        }

        if (_s.Passwd.ByName(state.User) is { } pw && !HomeAccessible(pw, out string why))
        {
            Defer(state, "4.3.0", $"cannot access home directory {pw.Home}: {why}");
            return;
        }
        if (await DotForwardAsync(state).ConfigureAwait(false)) return;
        if (await MailboxAsync(state).ConfigureAwait(false)) return;
        await UnknownAsync(state).ConfigureAwait(false);
    }

    // deliver_alias(): true when the alias was found (and delivered, bounced or deferred).
    private async ValueTask<bool> AliasAsync(LocalState state, string name)
    {
        if (_s.AliasMaps is null) return false;
        if (state.ExpandedFrom is not null && string.Equals(state.ExpandedFrom, name, StringComparison.OrdinalIgnoreCase))
            return false; // "root: root, bob": root's own name delivers to root
        state = state with { Level = state.Level + 1 };
        if (state.Level > NestingLimit)
        {
            Warn($"alias database loop for {name}");
            Bounce(state, "5.4.6", $"alias database loop for {name}");
            return true;
        }
        state = state with { ExpandedFrom = name };
        string? value;
        try { value = _s.AliasMaps(name); }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            Warn($"alias_maps lookup for {name}: {e.Message}");
            Defer(state, "4.3.0", "alias database unavailable");
            return true;
        }
        if (value is null) return false;

        // Aliases have no user context: /file and |command run with default_privs.
        state = state with { ExpandType = LocalExpansionType.Alias, Rights = LocalUser.None, Owner = null };
        var tokens = AliasTokens.Split(value);
        if (tokens.Count == 0)
        {
            Warn($"no recipient in alias lookup result for {name}");
            Defer(state, "4.3.0", "alias database unavailable");
            return true;
        }
        foreach (var token in tokens) await TokenAsync(state, token).ConfigureAwait(false);
        return true;
    }

    // deliver_token(): one destination from an alias, :include: or .forward.
    private async ValueTask TokenAsync(LocalState state, string token)
    {
        if (token.StartsWith('/'))
            await FileAsync(state, token).ConfigureAwait(false);
        else if (token.StartsWith('~'))
        {
            if (token.Length < 2 || token[1] != '/') Bounce(state, "5.1.3", $"bad home directory syntax for: {token}");
            else if (state.Rights.Home is null) Bounce(state, "5.1.3", $"unknown home directory for: {token}");
            else await FileAsync(state, state.Rights.Home == "/" ? token[1..] : state.Rights.Home + token[1..]).ConfigureAwait(false);
        }
        else if (token.StartsWith('|'))
        {
            if ((_s.AllowMailToCommands & state.ExpandType) == 0) Bounce(state, "5.7.1", "mail to command is restricted");
            else await CommandAsync(state, token[1..].Trim()).ConfigureAwait(false);
        }
        else if (token.StartsWith(":include:", StringComparison.OrdinalIgnoreCase))
            await IncludeAsync(state, token[":include:".Length..].Trim()).ConfigureAwait(false);
        else
            await ResolveAsync(state, token).ConfigureAwait(false);
    }

    // deliver_resolve_addr(): canonicalise, resolve like qmgr, deliver here or forward.
    private async ValueTask ResolveAsync(LocalState state, string address)
    {
        state = state with { Level = state.Level + 1 };
        string addr = AddressCanonical.AppendMyOrigin(address.Trim(), _s.MyOrigin);
        if (!LocalAddress.IsPlausible(addr))
        {
            Bounce(state, "5.1.3", $"bad recipient address syntax: {addr}");
            return;
        }
        ResolvedAddress resolved;
        try { resolved = _resolve(addr); }
        catch (Exception e) when (e is InvalidOperationException or IOException or Config.ConfigException)
        {
            Warn($"resolve {addr}: {e.Message}");
            Defer(state, "4.3.0", "address resolver failure");
            return;
        }
        state = state with { Address = addr };
        if (resolved.Transport == Request.Transport) await RecipientAsync(state).ConfigureAwait(false);
        else Indirect(state);
    }

    // deliver_indirect(): a new message through cleanup, one per recipient delivery (see the agent).
    private void Indirect(in LocalState state)
    {
        if (!_dup.Add($"indirect {state.Address}")) return;
        var notify = Top.Notify;
        if (state.ExpandType != LocalExpansionType.None && (notify & DsnNotify.Success) != 0)
            notify = notify == DsnNotify.Success ? DsnNotify.Never : notify & ~DsnNotify.Success;
        _forward.Add((state.Address, notify));
    }

    // deliver_unknown(): luser_relay, the required postmaster/MAILER-DAEMON, or a bounce.
    private async ValueTask UnknownAsync(LocalState state)
    {
        state = state with { Level = state.Level + 1 };
        if (!_dup.Add($"deliver_unknown {state.Local}")) return;
        if (_s.LuserRelay.Trim().Length > 0)
        {
            string relay = LocalExpand.Expand(_s.LuserRelay.Trim(), Attributes(state), null, out _);
            await ResolveAsync(state, relay).ConfigureAwait(false);
            return;
        }
        if (state.User is "mailer-daemon" or "postmaster")
        {
            Warn($"required alias not found: {state.User}");
            Sent(state, "discarded");
            return;
        }
        Bounce(state, "5.1.1", $"unknown user: \"{state.User}\"");
    }

    /// <summary>local_expand()'s attribute table for one state.</summary>
    private static Func<string, string?> Attributes(LocalState state) => name => name switch
    {
        "user" => state.User,
        "home" => state.Rights.Home,
        "shell" => state.Rights.Shell,
        "domain" => state.Domain.Length > 0 ? state.Domain : null,
        "local" or "mailbox" => state.Local,
        "recipient" => state.Address,
        "extension" => state.Extension,
        "recipient_delimiter" => state.Extension is null ? null : state.Delimiter.ToString(),
        _ => null,
    };
}
