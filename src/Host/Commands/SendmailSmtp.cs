// sendmail -bs: an SMTP session on standard input and output, as Postfix's
// sendmail runs smtpd(8) in stand-alone mode. The session is our smtpd itself
// (same parser, limits and replies); each accepted message is written to the
// maildrop instead of the queue, so -bs, like plain sendmail, works with the
// mail system stopped and pickup(8) queues the mail through cleanup. The user
// is local: relaying is permitted, as for any local submission.
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Postfix.Core.Cleanup;
using Postfix.Core.Config;
using Postfix.Core.Logging;
using Postfix.Core.Pickup;
using Postfix.Core.Queue;
using Postfix.Host.Master;
using Postfix.Protocols.Smtpd;

namespace Postfix.Host.Commands;

public static class SendmailSmtp
{
    public static async Task<int> RunAsync(MailSettings settings, int uid, Stream stdin, Stream stdout)
    {
        var smtpd = MasterConfig.ToSmtpd(settings) with
        {
            IsMyNetworks = _ => true,
            IsEventLimitException = _ => true,
            AlwaysAddMissingHeaders = true,
        };
        var writer = new MaildropQueueWriter(PickupDaemon.MaildropDirectory(settings.QueueDirectory), uid);
        using var server = new SmtpdServer(smtpd, writer, Maillog.Null);
        var pipe = new StdioPipe(PipeReader.Create(stdin), PipeWriter.Create(stdout));
        var ctx = new DefaultConnectionContext("sendmail-bs", pipe, pipe)
        {
            RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
        };
        await new SmtpdSession(server, ctx).RunAsync();
        return writer.Failed ? SendmailCommand.ExTempFail : 0;
    }

    private sealed class StdioPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>The queue writer behind -bs: one maildrop file per accepted message.</summary>
    private sealed class MaildropQueueWriter(string maildropDir, int uid) : IQueueWriter
    {
        private readonly QueueIdAllocator _ids = new();
        public bool Failed { get; private set; }
        public int MaxRecordSize => int.MaxValue / 2;
        public QueueId NewQueueId() => _ids.Next();

        public ValueTask CommitAsync(MessageBuilder message, CancellationToken cancellationToken)
        {
            // The queue record is the one envelope format smtpd fills: read it back as a QueuedMessage.
            var record = new byte[QueueFile.MessageLength(message)];
            QueueFile.WriteMessage(message, record);
            if (!QueueFile.TryReadMessage(record, out var m) || m is null)
                throw new QueueWriteException("cannot encode the message envelope");
            var env = new MaildropEnvelope
            {
                ArrivalUnixMs = m.ArrivalUnixMs,
                Uid = uid,
                Sender = m.Sender,
                EnvId = m.EnvId,
                Ret = m.Ret,
                Body = m.BodyType,
            };
            foreach (var r in m.Recipients) env.Recipients.Add((r.Address, r.Notify));
            try
            {
                MaildropFile.Publish(maildropDir, env, s => s.Write(m.Content.Span));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or MaildropFormatException)
            {
                Failed = true;
                throw new QueueWriteException($"maildrop: {e.Message}", e);
            }
            return ValueTask.CompletedTask;
        }
    }
}
