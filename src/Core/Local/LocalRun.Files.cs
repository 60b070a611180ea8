// local(8)'s file-side destinations (Postfix local/dotforward.c, include.c,
// mailbox.c, maildir.c, file.c): .forward and :include: files read with their
// owner's rights and Postfix's type/owner/mode checks, mailbox delivery to
// mail_spool_directory/user or ~/home_mailbox (mbox, or Maildir when the
// name ends in '/'), and /file destinations. Writes run as the recipient
// (or default_privs) when we are root; see FilesystemIdentity.
using System.Text;
using Postfix.Core.Delivery;
using Postfix.Core.Mailbox;
using Postfix.Core.Util;

namespace Postfix.Core.Local;

internal sealed partial class LocalRun
{
    private const long MaxListFileSize = 1L << 20;

    private static DeliveryRights RightsOf(LocalUser u) => new(u.Uid, u.Gid);

    private MailCopyEnvelope Envelope(in LocalState state) =>
        new(Message.Sender, Top.Address, state.Delivered, DateTimeOffset.Now);

    private bool HomeAccessible(PasswdEntry pw, out string why)
    {
        using var id = FilesystemIdentity.Assume(new DeliveryRights(pw.Uid, pw.Gid));
        int err = UnixFile.StatPath(pw.Home, out _);
        why = err == 0 ? "" : UnixFile.ErrorText(err);
        return err == 0;
    }

    // deliver_dotforward(): true when a .forward with destinations was found.
    private async ValueTask<bool> DotForwardAsync(LocalState state)
    {
        state = state with { Level = state.Level + 1 };
        if (_s.ForwardPath.Trim().Length == 0) return false;
        if (_s.Passwd.ByName(state.User) is not { } pw) return false;
        state = state with { Rights = LocalUser.From(pw), ExpandType = LocalExpansionType.Forward, Owner = state.User };

        string? path = null;
        UnixFileStatus st = default;
        foreach (var lhs in _s.ForwardPath.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            string p = LocalExpand.Expand(lhs, Attributes(state), _s.ForwardExpansionFilter, out var status);
            if ((status & (LocalExpand.Status.Error | LocalExpand.Status.Undefined)) != 0) continue;
            if (LStatAs(p, RightsOf(state.Rights), out st) == 0) { path = p; break; }
        }
        if (path is null) return false;

        if (!_dup.Add($"forward {path}")) return _dup.Contains($"forward-done {path}");
        state = state with { ExpandedFrom = state.Local };
        if (!st.IsRegular) { Warn($"file {path} is not a regular file"); return false; }
        if (st.Uid != 0 && st.Uid != pw.Uid && UnixFile.IsRoot) { Warn($"file {path} has bad owner uid {st.Uid}"); return false; }
        if ((st.Mode & 0b10) != 0) { Warn($"file {path} is world writable"); return false; }
        if (!ReadListFile(path, RightsOf(state.Rights), out var lines, out string error)) { Warn($"cannot open file {path}: {error}"); return false; }

        int count = 0;
        foreach (var line in lines)
        {
            var tokens = AliasTokens.Split(line);
            count += tokens.Count;
            foreach (var token in tokens) await TokenAsync(state, token).ConfigureAwait(false);
        }
        if (count == 0) return false; // an empty .forward: deliver to the mailbox
        _dup.Add($"forward-done {path}");
        return true;
    }

    // deliver_include(): the destinations listed in an :include: file.
    private async ValueTask IncludeAsync(LocalState state, string path)
    {
        state = state with { Level = state.Level + 1 };
        if (state.Level > NestingLimit)
        {
            Warn($":include: nesting limit exceeded for {path}");
            Bounce(state, "5.4.6", ":include: nesting limit exceeded");
            return;
        }
        if (!_dup.Add($"include {state.Rights.Uid} {path}")) return;
        state = state with { ExpandedFrom = state.Local };
        const string ConfigError = "mail system configuration error";
        if (!path.StartsWith('/'))
        {
            Warn($":include:{path} uses a relative path");
            Bounce(state, "5.3.5", ConfigError);
            return;
        }
        int err = StatAs(path, RightsOf(state.Rights), out var st);
        if (err != 0) { Warn($"unable to lookup :include: file {path}: {UnixFile.ErrorText(err)}"); Bounce(state, "5.3.5", ConfigError); return; }
        if (!st.IsRegular) { Warn($":include: file {path} is not a regular file"); Bounce(state, "5.3.5", ConfigError); return; }
        if ((st.Mode & 0b10) != 0) { Warn($":include: file {path} is world writable"); Bounce(state, "5.3.5", ConfigError); return; }

        state = state with { ExpandType = LocalExpansionType.Include };
        // A non-root include file in a root-owned alias is delivered with its owner's rights.
        if (state.Rights.Uid == 0 && st.Uid != 0 && UnixFile.IsRoot)
        {
            if (_s.Passwd.ByUid((int)st.Uid) is not { } owner)
            {
                Warn($"{path}: cannot find :include: file owner username (uid {st.Uid})");
                Defer(state, "4.3.5", ConfigError);
                return;
            }
            state = state with { Rights = LocalUser.From(owner) };
        }
        state = state with { Owner = state.Owner ?? state.Address };
        if (!ReadListFile(path, RightsOf(state.Rights), out var lines, out string error))
        {
            Warn($"cannot open include file {path}: {error}");
            Bounce(state, "5.3.5", ConfigError);
            return;
        }
        foreach (var line in lines)
            foreach (var token in AliasTokens.Split(line))
                await TokenAsync(state, token).ConfigureAwait(false);
    }

    // deliver_mailbox(): false when the user does not exist.
    private async ValueTask<bool> MailboxAsync(LocalState state)
    {
        state = state with { Level = state.Level + 1 };
        if (!_dup.Add($"mailbox {state.Local}")) return true;
        if (_s.Passwd.ByName(state.User) is not { } pw) return false;
        state = state with { Rights = LocalUser.From(pw) };

        if (_s.MailboxCommand.Trim().Length > 0)
        {
            await CommandAsync(state, _s.MailboxCommand.Trim()).ConfigureAwait(false);
            return true;
        }
        var flags = _s.DeliveredToFile ? MailCopyFlags.Maildir : MailCopyFlags.Maildir & ~MailCopyFlags.Delivered;
        if (_s.HomeMailbox.EndsWith('/'))
        {
            DeliverMaildir(state, Path.Join(pw.Home, _s.HomeMailbox), flags, RightsOf(state.Rights));
            return true;
        }
        if (_s.HomeMailbox.Length == 0 && _s.MailSpoolDirectory.EndsWith('/'))
        {
            DeliverMaildir(state, _s.MailSpoolDirectory + state.User + "/", flags, RightsOf(state.Rights));
            return true;
        }
        await DeliverMailboxFileAsync(state, pw).ConfigureAwait(false);
        return true;
    }

    private void DeliverMaildir(in LocalState state, string path, MailCopyFlags flags, DeliveryRights rights)
    {
        var r = MaildirFile.Deliver(path, Message.Content.Span, flags, Envelope(state), rights, _s.MailboxSizeLimit, _s.MyHostname);
        if (r.Delivered) Sent(state, "delivered to maildir");
        else Record(state, Status(r), r.Dsn, $"maildir delivery failed: {r.Reason}");
    }

    // deliver_mailbox_file(): UNIX mbox in the spool or the home directory.
    private async ValueTask DeliverMailboxFileAsync(LocalState state, PasswdEntry pw)
    {
        bool spool = _s.HomeMailbox.Length == 0;
        string mailbox = spool ? Path.Join(_s.MailSpoolDirectory, state.User) : Path.Join(pw.Home, _s.HomeMailbox);
        var user = new DeliveryRights(pw.Uid, pw.Gid);
        var rights = user;
        DeliveryRights? chown = null;
        // Postfix's spool rule: a world-writable spool is written as the user, a group-writable
        // one as the user with the spool's group, otherwise as root with the new file chowned.
        if (spool && UnixFile.StatPath(_s.MailSpoolDirectory, out var sst) == 0 && (sst.Mode & 0b10) == 0)
        {
            if ((sst.Mode & 0b10_000) != 0) rights = new DeliveryRights(pw.Uid, (int)sst.Gid);
            else { rights = new DeliveryRights(0, 0); chown = user; }
        }
        var options = new MboxOptions
        {
            Rights = rights,
            ChownNew = chown,
            RequiredOwner = _s.StrictMailboxOwnership ? pw.Uid : null,
            Lock = _s.Lock,
            SizeLimit = _s.MailboxSizeLimit,
        };
        var flags = _s.DeliveredToFile ? MailCopyFlags.Mbox : MailCopyFlags.Mbox & ~MailCopyFlags.Delivered;
        var r = await MboxFile.AppendAsync(mailbox, Message.Content, flags, Envelope(state), options, _ct).ConfigureAwait(false);
        if (r.Delivered) Sent(state, "delivered to mailbox");
        else Record(state, Status(r), r.Dsn, $"cannot update mailbox {mailbox} for user {state.User}. {r.Reason}");
    }

    // deliver_file(): a /file destination from an alias, :include: or .forward.
    private async ValueTask FileAsync(LocalState state, string path)
    {
        state = state with { Level = state.Level + 1 };
        var rights = state.Rights.Uid == 0 ? DefaultPrivs() : RightsOf(state.Rights);
        if (!_dup.Add($"file {rights.Uid} {path}")) return;
        if ((_s.AllowMailToFiles & state.ExpandType) == 0)
        {
            Bounce(state, "5.7.1", "mail to file is restricted");
            return;
        }
        if (path == "/dev/null")
        {
            Sent(state, $"delivered to file: {path}");
            return;
        }
        if (path.EndsWith('/'))
        {
            var mflags = _s.DeliveredToFile ? MailCopyFlags.Maildir : MailCopyFlags.Maildir & ~MailCopyFlags.Delivered;
            DeliverMaildir(state, path, mflags, rights);
            return;
        }
        var options = new MboxOptions { Rights = rights, Lock = _s.Lock, DotlockMayFail = true, SizeLimit = _s.MailboxSizeLimit };
        var flags = _s.DeliveredToFile ? MailCopyFlags.Mbox : MailCopyFlags.Mbox & ~MailCopyFlags.Delivered;
        var r = await MboxFile.AppendAsync(path, Message.Content, flags, Envelope(state), options, _ct).ConfigureAwait(false);
        if (r.Delivered) Sent(state, $"delivered to file: {path}");
        else Record(state, Status(r), r.Dsn, $"cannot append message to file {path}: {r.Reason}");
    }

    private static DeliveryStatus Status(MailboxResult r) =>
        r.Outcome == MailboxOutcome.Bounced ? DeliveryStatus.Bounced : DeliveryStatus.Deferred;

    private static int LStatAs(string path, DeliveryRights rights, out UnixFileStatus st)
    {
        using var id = FilesystemIdentity.Assume(rights);
        return UnixFile.LStat(path, out st);
    }

    private static int StatAs(string path, DeliveryRights rights, out UnixFileStatus st)
    {
        using var id = FilesystemIdentity.Assume(rights);
        return UnixFile.StatPath(path, out st);
    }

    /// <summary>Reads a .forward or :include: file as <paramref name="rights"/>: lines, '#' comments
    /// dropped, each line cut into line_length_limit chunks (Postfix readllines bound).</summary>
    private bool ReadListFile(string path, DeliveryRights rights, out List<string> lines, out string error)
    {
        lines = [];
        byte[] bytes;
        try
        {
            using var id = FilesystemIdentity.Assume(rights);
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (fs.Length > MaxListFileSize) { error = $"file is larger than {MaxListFileSize} bytes"; return false; }
            bytes = new byte[fs.Length];
            fs.ReadExactly(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = UnixFile.ErrorTextOf(e);
            return false;
        }
        int limit = Math.Max(1, _s.LineLengthLimit);
        foreach (var raw in Encoding.UTF8.GetString(bytes).Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith('#')) continue;
            for (int i = 0; i < line.Length; i += limit) lines.Add(line.Substring(i, Math.Min(limit, line.Length - i)));
        }
        error = "";
        return true;
    }
}
