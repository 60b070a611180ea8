// qmqpd(8): one QMQP session over a Kestrel connection's pipes: one message
// per connection, one reply, then close (Postfix qmqpd.c: qmqpd_service,
// qmqpd_proto, qmqpd_receive, qmqpd_send_status). Everything from the client
// is untrusted: only qmqpd_authorized_clients are served; QmqpPacketReader
// bounds every part; qmqpd_timeout is a deadline per KB received. "K" goes out
// only after CleanupService's durable commit. One owner of AdvanceTo (Parse).
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;
using Postfix.Core.Tables;
using Postfix.Core.Util;
using Postfix.Protocols.Smtpd;

namespace Postfix.Protocols.Qmqpd;

public sealed class QmqpdSession : ITimedSession
{
    /// <summary>
    /// After a reply sent before the whole packet was read, the client's rest is
    /// drained while it keeps coming (a close with unread input resets the
    /// connection and can destroy the reply): at most LingerTime in all, and
    /// only until LingerIdle passes without data (a client waiting for our close).
    /// </summary>
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LingerIdle = TimeSpan.FromMilliseconds(300);
    /// <summary>qmqpd_timeout restarts for every this many bytes received (Postfix: a deadline per read; per KB stops a one-byte-a-second client).</summary>
    private const int ActivityBytes = 1024;
    /// <summary>Queue records store an address with a 16-bit length.</summary>
    private const int MaxAddressLength = ushort.MaxValue;

    private readonly QmqpdServer _server;
    private readonly QmqpdSettings _s;
    private readonly ConnectionContext _conn;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly IPAddress? _clientIp;
    private readonly string _clientAddr;
    private readonly string _namaddr; // Postfix state->namaddr: "unknown[1.2.3.4]" (":port" with qmqpd_client_port_logging)
    private readonly bool _localSubmission;
    private readonly int _pid = SmtpdServer.NextSessionPid();
    private QmqpPacketReader _packet;
    private string _queueId = "NOQUEUE";
    private bool _replying;
    private long _lastActivity = Environment.TickCount64;
    private long _sinceActivity;
    private volatile bool _timedOut;

    public QmqpdSession(QmqpdServer server, ConnectionContext connection)
    {
        _server = server;
        _s = server.Settings;
        _conn = connection;
        _input = connection.Transport.Input;
        _output = connection.Transport.Output;
        var remote = connection.RemoteEndPoint as IPEndPoint;
        _clientIp = remote?.Address;
        if (_clientIp is { IsIPv4MappedToIPv6: true }) _clientIp = _clientIp.MapToIPv4();
        _clientAddr = _clientIp?.ToString() ?? "unknown";
        _namaddr = _s.ClientPortLogging && remote is not null ? $"unknown[{_clientAddr}]:{remote.Port}" : $"unknown[{_clientAddr}]";
        var localIp = (connection.LocalEndPoint as IPEndPoint)?.Address;
        if (localIp is { IsIPv4MappedToIPv6: true }) localIp = localIp.MapToIPv4();
        _localSubmission = _s.AlwaysAddMissingHeaders
            || (_s.LocalHeaderRewriteClients.HasFlag(LocalRewriteClients.InetInterfaces) && _clientIp is not null && _clientIp.Equals(localIp))
            || (_s.LocalHeaderRewriteClients.HasFlag(LocalRewriteClients.MyNetworks) && _clientIp is not null && _s.IsMyNetworks(_clientIp));
    }

    private long SizeLimit => _s.MessageSizeLimit > 0 ? _s.MessageSizeLimit : _server.Queue.MaxRecordSize;

    private string Where => _replying ? "sending completion status" : QmqpdReplies.Where(_packet.Where);

    public async Task RunAsync()
    {
        var log = _server.Log;
        log.Info("qmqpd", _pid, $"connect from {_namaddr}");
        _server.Enter(this);
        MessageBuilder? msg = null;
        byte[]? scratch = null;
        try
        {
            if (_clientIp is null || !_s.IsAuthorized(_clientIp))
            {
                // Postfix answers before reading anything, and does not log the refusal.
                await ReplyAsync(QmqpdReplies.Hard, QmqpdReplies.NotAuthorized(_namaddr)).ConfigureAwait(false);
                await LingerAsync().ConfigureAwait(false);
                return;
            }
            int addressLimit = Math.Min(_s.LineLengthLimit, MaxAddressLength);
            _packet = new QmqpPacketReader(SizeLimit, addressLimit);
            msg = NewMessage();
            scratch = ArrayPool<byte>.Shared.Rent(addressLimit);
            // As Postfix: the queue ID first, so every later log line carries it.
            _queueId = msg.QueueId.ToString();
            log.Info("qmqpd", _pid, $"{_queueId}: client={_namaddr}");
            if (await ReceiveAsync(msg, scratch).ConfigureAwait(false))
            {
                // Cleanup's table lookups: off the socket event thread when one may block.
                await ThreadPoolHop.If(LookupTables.MayBlock);
                await FinishAsync(msg).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is ConnectionResetException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            LogAbort(_timedOut ? "read/write timeout" : "lost connection");
        }
        finally
        {
            _server.Leave(this);
            log.Info("qmqpd", _pid, $"disconnect from {_namaddr}");
            msg?.Dispose();
            if (scratch != null) ArrayPool<byte>.Shared.Return(scratch);
            await _output.CompleteAsync().ConfigureAwait(false);
        }
    }

    private MessageBuilder NewMessage()
    {
        long limit = SizeLimit;
        var msg = new MessageBuilder(limit)
        {
            // Stored with CRLF line ends the content may outgrow the wire size
            // (up to twice); the queue's record limit is the final bound.
            ContentLimit = Math.Min(2 * limit + 64 * 1024, _server.Queue.MaxRecordSize),
            ClientAddress = _clientAddr,
            Protocol = "QMQP",
            QueueId = _server.Queue.NewQueueId(),
        };
        return msg;
    }

    /// <summary>Reads the packet; true when it is complete, false when the session is over (already answered or logged).</summary>
    private async Task<bool> ReceiveAsync(MessageBuilder msg, byte[] scratch)
    {
        while (true)
        {
            var result = await _input.ReadAsync().ConfigureAwait(false);
            switch (Parse(result.Buffer, msg, scratch))
            {
                case QmqpStatus.Done:
                    return true;
                case QmqpStatus.Failed:
                    await RejectAsync().ConfigureAwait(false);
                    return false;
            }
            if (result.IsCanceled && _timedOut)
            {
                LogAbort("read/write timeout"); // Postfix sends nothing on a timeout
                return false;
            }
            if (result.IsCompleted)
            {
                LogAbort("lost connection");
                return false;
            }
        }
    }

    /// <summary>Parses what is buffered. The only place that decides consumed/examined.</summary>
    private QmqpStatus Parse(in ReadOnlySequence<byte> buffer, MessageBuilder msg, byte[] scratch)
    {
        var reader = new SequenceReader<byte>(buffer);
        var status = _packet.Process(ref reader, msg, scratch);
        _sinceActivity += reader.Consumed;
        if (_sinceActivity >= ActivityBytes)
        {
            _sinceActivity = 0;
            Volatile.Write(ref _lastActivity, Environment.TickCount64);
        }
        // Need more: a partial length or address stays unconsumed, but all of it was examined.
        _input.AdvanceTo(reader.Position, status == QmqpStatus.NeedMore ? buffer.End : reader.Position);
        return status;
    }

    /// <summary>A malformed or oversized packet: answered at once and closed (qmqpd(8) BUGS).</summary>
    private async Task RejectAsync()
    {
        string text = QmqpdReplies.For(_packet);
        if (QmqpdReplies.IsCleanupStatus(_packet.Error)) LogWarning(text);
        else _server.Log.Info("qmqpd", _pid, $"{_queueId}: {_namaddr}: {text}");
        await ReplyAsync(QmqpdReplies.Hard, text).ConfigureAwait(false);
        await LingerAsync().ConfigureAwait(false);
    }

    private async Task FinishAsync(MessageBuilder msg)
    {
        _replying = true;
        if (msg.RecipientCount == 0)
        {
            await FailAsync(QmqpdReplies.Hard, QmqpdReplies.NoRecipients).ConfigureAwait(false);
            return;
        }
        int receivedLength = QmqpdContent.PrependHeaders(msg, _clientAddr, _s.MyHostname);
        if (QueueFile.MessageLength(msg) > _server.Queue.MaxRecordSize)
        {
            await FailAsync(QmqpdReplies.Hard, QmqpdReplies.MessageTooLarge).ConfigureAwait(false);
            return;
        }
        try
        {
            await _server.Cleanup.CommitAsync(msg, _pid, _localSubmission, receivedLength, _s.MyHostname).ConfigureAwait(false);
        }
        catch (QueueWriteException e)
        {
            _server.Log.Warning("cleanup", $"{_queueId}: queue file write error: {e.Message}");
            await FailAsync(QmqpdReplies.Retry, QmqpdReplies.QueueWriteError).ConfigureAwait(false);
            return;
        }
        _server.CountAccepted();
        await ReplyAsync(QmqpdReplies.Ok, $"Ok: queued as {_queueId}").ConfigureAwait(false);
    }

    /// <summary>Postfix qmqpd_reply(DO_LOG): "warning: ID: host[addr]: text", then the reply.</summary>
    private Task FailAsync(byte code, string text)
    {
        LogWarning(text);
        return ReplyAsync(code, text);
    }

    /// <summary>One netstring: the status byte and text; negative replies wait qmqpd_error_delay first.</summary>
    private async Task ReplyAsync(byte code, string text)
    {
        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        int n = Encoding.UTF8.GetByteCount(text) + 1;
        var span = _output.GetSpan(n + 16);
        n.TryFormat(span, out int p);
        span[p++] = (byte)':';
        span[p++] = code;
        p += Encoding.UTF8.GetBytes(text, span[p..]);
        span[p++] = (byte)',';
        _output.Advance(p);
        if (code != QmqpdReplies.Ok && _s.ErrorDelay > TimeSpan.Zero)
            await Task.Delay(_s.ErrorDelay).ConfigureAwait(false);
        await _output.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Drains what the client still sends after an early reply (see LingerTime).</summary>
    private async Task LingerAsync()
    {
        long end = Environment.TickCount64 + (long)LingerTime.TotalMilliseconds;
        using var idle = new CancellationTokenSource();
        try
        {
            while (Environment.TickCount64 < end)
            {
                idle.CancelAfter(LingerIdle);
                var result = await _input.ReadAsync(idle.Token).ConfigureAwait(false);
                _input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled) return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException or ObjectDisposedException)
        {
            // The reply is out; how the client leaves is its business.
        }
    }

    /// <summary>Postfix's log line for an abnormal end: "ID: host[addr]: reason while where".</summary>
    private void LogAbort(string reason) =>
        _server.Log.Info("qmqpd", _pid, $"{_queueId}: {_namaddr}: {reason} while {Where}");

    private void LogWarning(string text) =>
        _server.Log.Info("qmqpd", _pid, $"warning: {_queueId}: {_namaddr}: {text}");

    public void CheckTimeout(long now)
    {
        long idle = now - Volatile.Read(ref _lastActivity);
        if (idle > _s.Timeout.TotalMilliseconds && !_timedOut)
        {
            _timedOut = true;
            _input.CancelPendingRead();
        }
        else if (_timedOut && idle > _s.Timeout.TotalMilliseconds + 10_000)
        {
            _conn.Abort(new ConnectionAbortedException("qmqpd_timeout"));
        }
    }
}
