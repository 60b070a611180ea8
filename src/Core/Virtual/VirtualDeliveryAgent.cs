// virtual(8): final delivery for virtual_mailbox_domains (man 8 virtual). Each
// recipient is looked up in virtual_mailbox_maps in virtual(8)'s order
// (user+ext@domain, user@domain, @domain); the result, under
// virtual_mailbox_base, is a Maildir when it ends in '/', else a UNIX mbox
// file. Mail is written as the uid/gid from virtual_uid_maps/virtual_gid_maps
// (at least virtual_minimum_uid) when we run as root; otherwise as this
// process, and the maps are not required. An unknown recipient bounces 5.1.1;
// a mailbox over virtual_mailbox_limit bounces 5.2.2; every other problem
// defers. Delivered-To, X-Original-To and Return-Path are prepended; a
// message that already carries "Delivered-To: <recipient>" bounces as a
// forwarding loop. Input: a queued message (untrusted content).
using System.Diagnostics;
using Postfix.Core.Delivery;
using Postfix.Core.Local;
using Postfix.Core.Logging;
using Postfix.Core.Mailbox;
using Postfix.Core.Queue;
using Postfix.Core.Util;

namespace Postfix.Core.Virtual;

public sealed class VirtualDeliveryAgent(VirtualSettings settings, Maillog log) : IDeliveryAgent
{
    public async ValueTask<DeliveryReport> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var deliveredTo = DeliveredToHeaders.Read(request.Message.Content.Span);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var results = new List<RecipientResult>(request.Recipients.Count);
        foreach (var rcpt in request.Recipients)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (status, dsn, text) = seen.Add(rcpt.Address)
                ? await DeliverOneAsync(request, rcpt, deliveredTo, cancellationToken).ConfigureAwait(false)
                : (DeliveryStatus.Sent, "2.0.0", "duplicate destination, delivered once for this message");
            results.Add(new RecipientResult(rcpt, status, dsn, text));
        }
        return new DeliveryReport(results, request.Transport, TimeSpan.Zero, clock.Elapsed);
    }

    private async ValueTask<(DeliveryStatus, string, string)> DeliverOneAsync(DeliveryRequest request, QueuedRecipient rcpt,
        HashSet<string> deliveredTo, CancellationToken ct)
    {
        string address = rcpt.Address;
        if (deliveredTo.Contains(address.ToLowerInvariant()))
            return (DeliveryStatus.Bounced, "5.4.6", $"mail forwarding loop for {address}");

        string? mailbox;
        try { mailbox = Find(settings.MailboxMaps, address); }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            Warn(request, $"virtual_mailbox_maps lookup for {address}: {e.Message}");
            return (DeliveryStatus.Deferred, "4.3.0", "table lookup failure");
        }
        if (mailbox is null) return (DeliveryStatus.Bounced, "5.1.1", "User unknown in virtual mailbox table");

        var rights = DeliveryRights.Process;
        if (UnixFile.IsRoot)
        {
            if (!TryId(settings.UidMaps, "virtual_uid_maps", address, request, out int uid, out var failure)) return failure;
            if (uid < settings.MinimumUid)
            {
                Warn(request, $"recipient {address}: bad uid {uid} in virtual_uid_maps");
                return (DeliveryStatus.Deferred, "4.3.5", "mail system configuration error");
            }
            if (!TryId(settings.GidMaps, "virtual_gid_maps", address, request, out int gid, out failure)) return failure;
            rights = new DeliveryRights(uid, gid);
        }

        string path = settings.MailboxBase.TrimEnd('/') + "/" + mailbox.TrimStart('/');
        var m = request.Message;
        var envelope = new MailCopyEnvelope(m.Sender, address, address, DateTimeOffset.Now);
        if (path.EndsWith('/'))
        {
            var r = MaildirFile.Deliver(path, m.Content.Span, MailCopyFlags.Maildir, envelope, rights, settings.MailboxLimit, settings.MyHostname);
            return r.Delivered
                ? (DeliveryStatus.Sent, "2.0.0", "delivered to maildir")
                : (Status(r), r.Dsn, $"delivery failed to maildir {path}: {r.Reason}");
        }
        var options = new MboxOptions
        {
            Rights = rights,
            RequiredOwner = settings.StrictMailboxOwnership && !rights.IsProcess ? rights.Uid : null,
            Lock = settings.Lock,
            SizeLimit = settings.MailboxLimit,
        };
        var mr = await MboxFile.AppendAsync(path, m.Content, MailCopyFlags.Mbox, envelope, options, ct).ConfigureAwait(false);
        return mr.Delivered
            ? (DeliveryStatus.Sent, "2.0.0", "delivered to mailbox")
            : (Status(mr), mr.Dsn, $"delivery failed to mailbox {path}: {mr.Reason}");
    }

    private bool TryId(Func<string, string?>? maps, string parameter, string address, DeliveryRequest request,
        out int id, out (DeliveryStatus, string, string) failure)
    {
        id = -1;
        failure = (DeliveryStatus.Deferred, "4.3.5", "mail system configuration error");
        string? value = Find(maps, address);
        if (value is null)
        {
            Warn(request, $"recipient {address}: uid/gid not found in {parameter}");
            return false;
        }
        if (!int.TryParse(value.Trim(), out id) || id < 0)
        {
            Warn(request, $"recipient {address}: bad value \"{value}\" in {parameter}");
            return false;
        }
        return true;
    }

    /// <summary>virtual(8)'s table search order: user+ext@domain, user@domain, @domain.</summary>
    internal string? Find(Func<string, string?>? maps, string address)
    {
        if (maps is null) return null;
        string folded = address.ToLowerInvariant();
        if (maps(folded) is { } v) return v;
        int at = folded.LastIndexOf('@');
        if (at <= 0) return null;
        string local = folded[..at], domain = folded[at..];
        var (user, ext, _) = LocalAddress.SplitExtension(local, settings.RecipientDelimiter);
        if (ext is not null && maps(user + domain) is { } w) return w;
        return maps(domain);
    }

    private static DeliveryStatus Status(MailboxResult r) =>
        r.Outcome == MailboxOutcome.Bounced ? DeliveryStatus.Bounced : DeliveryStatus.Deferred;

    private void Warn(DeliveryRequest request, string text) => log.Warning(request.Transport, $"{request.Message.Id}: {text}");
}
