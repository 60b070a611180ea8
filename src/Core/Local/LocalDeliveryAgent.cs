// local(8): final delivery for the domains in mydestination (man 8 local).
// For each recipient of the request: aliases, .forward, mailbox, luser_relay
// (LocalRun); destinations outside this transport are collected and sent on
// as one new message through cleanup with the same sender and content plus
// "Received:" and "Delivered-To:" (Postfix local/forward.c), reported as
// "forwarded as QUEUEID". qmgr gets one result per final destination (logged
// "to=<final>, orig_to=<recipient>"); when any destination of a recipient is
// deferred, only the deferrals are reported so the whole recipient is tried
// again (as Postfix does). Input: a queued message (untrusted content).
using System.Diagnostics;
using System.Text;
using Postfix.Core.Cleanup;
using Postfix.Core.Delivery;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Core.Rewrite;
using Postfix.Core.Util;

namespace Postfix.Core.Local;

public sealed class LocalDeliveryAgent(LocalSettings settings, CleanupService cleanup, Func<string, ResolvedAddress> resolve, Maillog log)
    : IDeliveryAgent
{
    private readonly int _pid = Environment.ProcessId;

    public LocalSettings Settings => settings;

    public async ValueTask<DeliveryReport> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var deliveredTo = DeliveredToHeaders.Read(request.Message.Content.Span);
        var dup = new LocalDuplicateFilter(settings.DuplicateFilterLimit);
        var results = new List<RecipientResult>(request.Recipients.Count);
        foreach (var rcpt in request.Recipients)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var run = new LocalRun(settings, request, rcpt, dup, deliveredTo, resolve, log, cancellationToken);
            try
            {
                await run.DeliverAsync().ConfigureAwait(false);
                await ForwardAsync(run, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                log.Warning(request.Transport, $"{request.Message.Id}: {rcpt.Address}: {e.Message}");
                run.Outcomes.Add(new LocalOutcome(rcpt.Address, DeliveryStatus.Deferred, "4.3.0", $"local delivery failure: {e.Message}"));
            }
            results.AddRange(ResultsFor(rcpt, run.Outcomes));
        }
        return new DeliveryReport(results, request.Transport, TimeSpan.Zero, clock.Elapsed);
    }

    /// <summary>One result per outcome; only the deferrals when anything was deferred.</summary>
    internal static IEnumerable<RecipientResult> ResultsFor(QueuedRecipient rcpt, IReadOnlyList<LocalOutcome> outcomes)
    {
        if (outcomes.Count == 0)
            return [new RecipientResult(rcpt, DeliveryStatus.Sent, "2.0.0", "duplicate destination, delivered once for this message")];
        bool deferred = outcomes.Any(o => o.Status == DeliveryStatus.Deferred);
        return outcomes.Where(o => !deferred || o.Status == DeliveryStatus.Deferred)
            .Select(o => new RecipientResult(o.Address == rcpt.Address ? rcpt : rcpt with { Address = o.Address }, o.Status, o.Dsn, o.Text))
            .ToList();
    }

    // forward_finish(): one new message for all forwarded destinations of this recipient,
    // not when the recipient is deferred (it is tried again as a whole).
    private async ValueTask ForwardAsync(LocalRun run, CancellationToken ct)
    {
        if (run.Forward.Count == 0 || run.Outcomes.Any(o => o.Status == DeliveryStatus.Deferred)) return;
        var m = run.Message;
        using var b = new MessageBuilder(Math.Max(settings.MessageSizeLimit, m.Content.Length));
        b.ContentLimit = m.Content.Length + 64 * 1024;
        b.QueueId = cleanup.Queue.NewQueueId();
        b.SetSender(Encoding.UTF8.GetBytes(m.Sender));
        b.SetEnvId(Encoding.UTF8.GetBytes(m.EnvId));
        b.Ret = m.Ret;
        b.BodyType = m.BodyType;
        b.SmtpUtf8 = m.SmtpUtf8;
        b.ClientName = m.ClientName;
        b.ClientAddress = m.ClientAddress;
        b.Helo = m.Helo;
        b.Protocol = m.Protocol;
        foreach (var (address, notify) in run.Forward)
            b.AddRecipient(Encoding.UTF8.GetBytes(address), Encoding.UTF8.GetBytes(run.Top.Orcpt), notify);

        string id = b.QueueId.ToString();
        var date = new Util.PooledBuffer(64);
        try
        {
            b.Content.Write(Encoding.UTF8.GetBytes($"Received: by {settings.MyHostname} ({settings.MailName})\r\n\tid {id}; "));
            ReceivedHeader.WriteDate(date, DateTimeOffset.UtcNow);
            b.Content.Write(date.Span);
            b.Content.Write("\r\n"u8);
        }
        finally { date.Dispose(); }
        if (settings.DeliveredToForward)
            b.Content.Write(Encoding.UTF8.GetBytes($"Delivered-To: {run.Top.Address.ToLowerInvariant()}\r\n"));
        b.Content.Write(m.Content.Span);

        var top = run.Top.Address;
        try
        {
            await cleanup.CommitAsync(b, _pid, localSubmission: false, 0, settings.MyHostname, ct).ConfigureAwait(false);
            await ThreadPoolHop.Always; // off the queue's commit loop: mailbox writes follow
            run.Outcomes.Add(new LocalOutcome(top, DeliveryStatus.Sent, "2.0.0", $"forwarded as {id}"));
        }
        catch (QueueWriteException e)
        {
            run.Outcomes.Add(new LocalOutcome(top, DeliveryStatus.Deferred, "4.3.0", $"cannot forward message: {e.Message}"));
        }
    }
}
