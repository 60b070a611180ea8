// smtpd(8): one SMTP session over a Kestrel connection's pipes. This file is
// the I/O loop; SmtpdSession.Commands.cs holds the verbs. One owner of
// AdvanceTo: Process() parses as many complete commands as are buffered
// (pipelining) and the loop flushes all their replies in one write, only when
// no more input is buffered. Everything from the client is untrusted; every
// read is bounded (line_length_limit, message_size_limit, smtpd_timeout).
// After STARTTLS (or in wrapper mode) _input/_output are pipes over the
// SslStream (SmtpdSession.Tls.cs); the loop is the same.
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;
using Postfix.Core.Tables;
using Postfix.Core.Util;

namespace Postfix.Protocols.Smtpd;

public sealed partial class SmtpdSession : ITimedSession
{
    private enum Phase : byte { Command, DiscardLine, Data, Bdat, AuthResponse }
    private enum Next : byte { NeedMore, Commit, Sleep, Close, StartTls, Authenticate, Check, CountRate }

    private readonly SmtpdServer _server;
    private readonly SmtpdSettings _s;
    private readonly ConnectionContext _conn;
    private PipeReader _input;
    private PipeWriter _output;
    private readonly MessageBuilder _msg;
    private readonly IPAddress? _clientIp;
    private readonly string _clientAddr;
    private readonly string _clientLabel; // "unknown[1.2.3.4]"
    private readonly bool _clientInMyNetworks;
    private readonly bool _localSubmission; // cleanup's "local" header rewrite context
    private readonly int _pid = SmtpdServer.NextSessionPid();
    private byte[]? _scratch;
    private Phase _phase;
    private SmtpDataReader _data;
    private long _bdatRemaining, _bdatChunkSize;
    private int _receivedLength;
    private bool _bdatLast, _bdatFailedTooBig, _bdatNoRcpt, _usedBdat;
    private long _lastActivity = Environment.TickCount64;
    private long _dataSinceActivity;
    private volatile bool _timedOut;
    private bool _unflushed;
    private int _errors;

    public SmtpdSession(SmtpdServer server, ConnectionContext connection)
    {
        _server = server;
        _s = server.Settings;
        _conn = connection;
        _input = connection.Transport.Input;
        _output = connection.Transport.Output;
        _msg = new MessageBuilder(_s.MessageSizeLimit);
        _msg.ContentLimit = Math.Min((long)int.MaxValue, Math.Max(_s.MessageSizeLimit, 0) + 64 * 1024);
        if (_s.MessageSizeLimit <= 0) _msg.ContentLimit = Math.Min(server.Queue.MaxRecordSize, int.MaxValue);
        _clientIp = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        if (_clientIp is { IsIPv4MappedToIPv6: true }) _clientIp = _clientIp.MapToIPv4();
        _clientAddr = _clientIp?.ToString() ?? "unknown";
        _clientLabel = $"unknown[{_clientAddr}]";
        _clientInMyNetworks = _clientIp is not null && _s.IsMyNetworks(_clientIp);
        var localIp = (connection.LocalEndPoint as IPEndPoint)?.Address;
        if (localIp is { IsIPv4MappedToIPv6: true }) localIp = localIp.MapToIPv4();
        _localSubmission = _s.AlwaysAddMissingHeaders
            || (_s.LocalHeaderRewriteClients.HasFlag(LocalRewriteClients.InetInterfaces) && _clientIp is not null && _clientIp.Equals(localIp))
            || (_s.LocalHeaderRewriteClients.HasFlag(LocalRewriteClients.MyNetworks) && _clientInMyNetworks);
        _msg.ClientAddress = _clientAddr;
    }

    public async Task RunAsync()
    {
        var log = _server.Log;
        log.Info("smtpd", _pid, $"connect from {_clientLabel}");
        var admission = _server.TryEnter(this, _clientIp, _s, out int count);
        try
        {
            // cluster_store: the connection count and rate are counted across the nodes (round trips).
            if (admission == SmtpdServer.Admission.Shared)
                (admission, count) = await _server.EnterSharedAsync(this, _clientIp!, _s, count).ConfigureAwait(false);
            if (admission != SmtpdServer.Admission.Ok)
            {
                var what = admission == SmtpdServer.Admission.RateLimit ? "Connection rate" : "Connection concurrency";
                log.Info("smtpd", _pid, $"warning: {what} limit exceeded: {count} from {_clientLabel} for service smtp");
                WriteLine($"421 4.7.0 {_s.MyHostname} Error: too many connections from {_clientAddr}");
                await _output.FlushAsync().ConfigureAwait(false);
                return;
            }
            // smtpd_tls_wrappermode: the handshake comes before the greeting (RFC 8314 implicit TLS).
            if (_s.TlsWrapperMode && !await HandshakeAsync().ConfigureAwait(false)) return;
            if (_s.Restrictions.WatchesPipelining) await WatchEarlyTalkerAsync().ConfigureAwait(false);
            _output.Write(_s.Greeting);
            await _output.FlushAsync().ConfigureAwait(false);
            await LoopAsync().ConfigureAwait(false);
        }
        catch (ConnectionResetException)
        {
            _lostConnection = true;
        }
        catch (IOException)
        {
            _lostConnection = true;
        }
        catch (ObjectDisposedException)
        {
            _lostConnection = true;
        }
        finally
        {
            _server.Leave(this, _clientIp, _s);
            if (_lostConnection) log.Info("smtpd", _pid, $"lost connection after {LastCommandName} from {_clientLabel}");
            log.Info("smtpd", _pid, $"disconnect from {_clientLabel}{_stats.Format()}");
            _msg.Dispose();
            if (_scratch != null) ArrayPool<byte>.Shared.Return(_scratch);
            try
            {
                await _output.CompleteAsync().ConfigureAwait(false);
                if (_ssl is not null) await CloseTlsAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or ConnectionResetException)
            {
                // The client is gone; nothing left to flush.
            }
        }
    }

    private bool _lostConnection;
    private bool _earlyTalker;

    /// <summary>
    /// reject_unauth_pipelining's pre-greeting check: after the "sleep N" of
    /// smtpd_client_restrictions, a client that already sent something talked
    /// before the greeting (a spambot trait). Nothing is consumed here.
    /// </summary>
    private async Task WatchEarlyTalkerAsync()
    {
        var pause = _s.Restrictions.GreetPause;
        if (pause > TimeSpan.Zero) await Task.Delay(pause).ConfigureAwait(false);
        if (_input.TryRead(out var early))
        {
            _earlyTalker = !early.Buffer.IsEmpty;
            _input.AdvanceTo(early.Buffer.Start);
            if (_earlyTalker) _server.Log.Info("smtpd", _pid, $"improper command pipelining after CONNECT from {_clientLabel}");
        }
    }

    private async Task LoopAsync()
    {
        bool bufferedInput = false;
        while (true)
        {
            if (_unflushed && !bufferedInput)
            {
                _unflushed = false;
                var fr = await _output.FlushAsync().ConfigureAwait(false);
                if (fr.IsCompleted) return;
            }
            var result = await _input.ReadAsync().ConfigureAwait(false);
            // Restrictions and cleanup look tables up; a table on the network (redis:) must not
            // hold the socket event thread this read may have completed on.
            await ThreadPoolHop.If(LookupTables.MayBlock);
            if (result.IsCanceled)
            {
                if (_timedOut)
                {
                    _server.Log.Info("smtpd", _pid, $"timeout after {LastCommandName} from {_clientLabel}");
                    WriteLine($"421 4.4.2 {_s.MyHostname} Error: timeout exceeded");
                    await _output.FlushAsync().ConfigureAwait(false);
                    return;
                }
                continue;
            }
            var buffer = result.Buffer;
            // smtpd_timeout is a deadline per command or per KB of message data,
            // not per byte: a client dribbling one byte at a time (slowloris)
            // still times out (Postfix: smtpd_per_record_deadline).
            if (_phase is Phase.Data or Phase.Bdat)
            {
                _dataSinceActivity += buffer.Length;
                if (_dataSinceActivity >= 1024) { _dataSinceActivity = 0; _lastActivity = Environment.TickCount64; }
            }

            var next = Process(buffer, out var consumed, out var examined);
            bufferedInput = !consumed.Equals(buffer.End);
            if (next == Next.StartTls && bufferedInput)
            {
                // Plaintext pipelined after STARTTLS must not become commands inside TLS (CVE-2011-0411).
                LogInjectedPlaintext(buffer.Slice(consumed));
                consumed = examined = buffer.End;
                bufferedInput = false;
            }
            _input.AdvanceTo(consumed, examined);
            if (next is Next.Authenticate or Next.Check or Next.CountRate)
            {
                // The asynchronous steps of AUTH, of DNS-backed RCPT checks and of the cluster's
                // rate counters end like a command: carry on, or sleep / close as an error reply
                // asks. A counted RCPT may go on to its DNS checks (at most two steps).
                do
                {
                    next = next switch
                    {
                        Next.Authenticate => await AuthenticateAsync().ConfigureAwait(false),
                        Next.Check => await CheckPendingRcptAsync().ConfigureAwait(false),
                        _ => await CountRateAsync().ConfigureAwait(false),
                    };
                }
                while (next is Next.Authenticate or Next.Check or Next.CountRate);
                if (next is not (Next.Sleep or Next.Close)) continue;
            }
            switch (next)
            {
                case Next.StartTls:
                    _unflushed = false;
                    await _output.FlushAsync().ConfigureAwait(false);
                    if (!await HandshakeAsync().ConfigureAwait(false)) return;
                    _stats.StartTls.Ok++;
                    break;
                case Next.Commit:
                    await CommitAsync().ConfigureAwait(false);
                    break;
                case Next.Sleep:
                    await _output.FlushAsync().ConfigureAwait(false);
                    await Task.Delay(_s.ErrorSleepTime).ConfigureAwait(false);
                    break;
                case Next.Close:
                    await _output.FlushAsync().ConfigureAwait(false);
                    return;
                case Next.NeedMore when result.IsCompleted:
                    _lostConnection = true;
                    return;
            }
        }
    }

    /// <summary>Parses everything buffered. The only place that decides consumed/examined.</summary>
    private Next Process(ReadOnlySequence<byte> buffer, out SequencePosition consumed, out SequencePosition examined)
    {
        var reader = new SequenceReader<byte>(buffer);
        Next next = Next.NeedMore;
        while (next == Next.NeedMore && !reader.End)
        {
            switch (_phase)
            {
                case Phase.Command:
                    var status = SmtpCommandParser.TryReadLine(ref reader, _s.LineLengthLimit, out var line);
                    if (status == LineStatus.NeedMore) goto needMore;
                    _lastActivity = Environment.TickCount64; // a whole command arrived (see the deadline note in LoopAsync)
                    if (status is LineStatus.TooLong or LineStatus.TooLongComplete)
                    {
                        if (status == LineStatus.TooLong) _phase = Phase.DiscardLine;
                        next = Error(SmtpdReplies.LineTooLong);
                        continue;
                    }
                    if (status is LineStatus.BareLf or LineStatus.BareCr)
                    {
                        next = BareNewline(status == LineStatus.BareLf);
                        continue;
                    }
                    next = HandleCommand(AsSpan(line));
                    break;

                case Phase.DiscardLine:
                    if (!reader.TryAdvanceTo((byte)'\n')) { reader.AdvanceToEnd(); goto needMore; }
                    _phase = Phase.Command;
                    break;

                case Phase.Data:
                    next = ProcessData(ref reader);
                    break;

                case Phase.Bdat:
                    next = ProcessBdat(ref reader);
                    break;

                case Phase.AuthResponse:
                    var auth = SmtpCommandParser.TryReadLine(ref reader, _s.SaslResponseLimit, out var response);
                    if (auth == LineStatus.NeedMore) goto needMore;
                    _lastActivity = Environment.TickCount64;
                    if (auth is LineStatus.TooLong or LineStatus.TooLongComplete)
                    {
                        EndAuth();
                        if (auth == LineStatus.TooLong) _phase = Phase.DiscardLine;
                        next = Error(SmtpdReplies.AuthLineTooLong);
                        continue;
                    }
                    if (auth is LineStatus.BareLf or LineStatus.BareCr)
                    {
                        next = BareNewline(auth == LineStatus.BareLf);
                        continue;
                    }
                    next = AuthResponse(AsSpan(response));
                    break;
            }
        }
        consumed = reader.Position;
        // Stopped for a commit / sleep / close: the rest is already buffered, so the
        // next read must return at once rather than wait for new bytes.
        examined = next == Next.NeedMore && reader.End ? buffer.End : consumed;
        return next;

    needMore:
        consumed = reader.Position;
        examined = buffer.End;
        return Next.NeedMore;
    }

    private ReadOnlySpan<byte> AsSpan(in ReadOnlySequence<byte> line)
    {
        if (line.IsSingleSegment) return line.FirstSpan;
        if (_scratch is not null && _scratch.Length < line.Length)
        {
            ArrayPool<byte>.Shared.Return(_scratch); // an AUTH response (smtpd_sasl_response_limit) outgrew it
            _scratch = null;
        }
        _scratch ??= ArrayPool<byte>.Shared.Rent((int)Math.Max(line.Length, _s.LineLengthLimit + 2));
        line.CopyTo(_scratch);
        return _scratch.AsSpan(0, (int)line.Length);
    }

    private Next ProcessData(ref SequenceReader<byte> reader)
    {
        while (!reader.End)
        {
            var status = _data.Process(reader.UnreadSpan, _msg.Content, out int n);
            reader.Advance(n);
            switch (status)
            {
                case DataStatus.Done:
                    _phase = Phase.Command;
                    if (_data.TooBig)
                    {
                        _server.Log.Info("smtpd", _pid, $"{QueueIdText}: reject: size {_data.Size} from {_clientLabel}: message_size_limit exceeded");
                        ResetTransaction();
                        return Error(SmtpdReplies.SizeExceeded);
                    }
                    return Next.Commit;
                case DataStatus.BareLf:
                    return BareNewline(true);
                case DataStatus.BareCr:
                    return BareNewline(false);
            }
        }
        return Next.NeedMore;
    }

    private Next ProcessBdat(ref SequenceReader<byte> reader)
    {
        long take = Math.Min(_bdatRemaining, reader.Remaining);
        if (!_bdatNoRcpt && !_bdatFailedTooBig)
        {
            // message_size_limit counts what the client sent, not the Received: header we
            // added (as for DATA, and as Postfix's act_size).
            if (_msg.ContentLength - _receivedLength + _bdatRemaining > _s.MessageSizeLimit && _s.MessageSizeLimit > 0
                || !_msg.Content.CanWrite((int)Math.Min(take, int.MaxValue)))
            {
                _bdatFailedTooBig = true;
            }
            else
            {
                var chunk = reader.UnreadSequence.Slice(0, take);
                foreach (var seg in chunk) _msg.Content.Write(seg.Span);
            }
        }
        reader.Advance(take);
        _bdatRemaining -= take;
        if (_bdatRemaining > 0) return Next.NeedMore;
        _phase = Phase.Command;
        if (_bdatNoRcpt)
        {
            bool inTransaction = _msg.HasSender;
            if (_bdatLast) ResetTransaction();
            return Error(inTransaction ? SmtpdReplies.NoValidRecipients : SmtpdReplies.NeedRcpt);
        }
        if (_bdatFailedTooBig)
        {
            if (_bdatLast) ResetTransaction();
            return Error(SmtpdReplies.SizeExceeded);
        }
        if (_bdatLast) return Next.Commit;
        _stats.Bdat.Ok++;
        WriteBdatOk(_bdatChunkSize);
        return Next.NeedMore;
    }

    private async Task CommitAsync()
    {
        var id = _msg.QueueId;
        try
        {
            await _server.Cleanup.CommitAsync(_msg, _pid, _localSubmission, _receivedLength, _s.MyHostname).ConfigureAwait(false);
            _server.CountAccepted();
            WriteQueued(id);
            if (_usedBdat) _stats.Bdat.Ok++;
            else _stats.Data.Ok++;
        }
        catch (QueueWriteException e)
        {
            _server.Log.Warning("cleanup", $"{QueueIdText}: queue file write error: {e.Message}");
            Error(SmtpdReplies.QueueError);
        }
        ResetTransaction();
    }

    public void CheckTimeout(long now)
    {
        if (_handshaking) return; // bounded by smtpd_starttls_timeout instead
        long idle = now - Volatile.Read(ref _lastActivity);
        if (idle > _s.Timeout.TotalMilliseconds && !_timedOut)
        {
            _timedOut = true;
            _input.CancelPendingRead();
        }
        else if (_timedOut && idle > _s.Timeout.TotalMilliseconds + 10_000)
        {
            _conn.Abort(new ConnectionAbortedException("smtpd_timeout"));
        }
    }

    private Next BareNewline(bool lf)
    {
        _server.Log.Info("smtpd", _pid, $"warning: disconnect: bare <{(lf ? "LF" : "CR")}> received from {_clientLabel}");
        WriteLine(lf ? $"521 5.5.2 {_s.MyHostname} Error: bare <LF> received" : $"521 5.5.2 {_s.MyHostname} Error: bare <CR> received");
        ResetTransaction();
        return Next.Close;
    }

    /// <summary>Writes an error reply and applies smtpd_soft_error_limit / smtpd_hard_error_limit.</summary>
    private Next Error(ReadOnlySpan<byte> reply)
    {
        Write(reply);
        _errors++;
        if (HardErrorLimitReached()) return Next.Close;
        return _errors > _s.SoftErrorLimit && _s.ErrorSleepTime > TimeSpan.Zero ? Next.Sleep : Next.NeedMore;
    }

    /// <summary>smtpd_hard_error_limit: answers 421 and tells the caller to disconnect.</summary>
    private bool HardErrorLimitReached()
    {
        if (_errors < _s.HardErrorLimit) return false;
        _server.Log.Info("smtpd", _pid, $"too many errors after {LastCommandName} from {_clientLabel}");
        WriteLine($"421 4.7.0 {_s.MyHostname} Error: too many errors");
        return true;
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        _unflushed = true;
    }

    private void WriteLine(string text)
    {
        var span = _output.GetSpan(text.Length * 3 + 2);
        int n = System.Text.Encoding.UTF8.GetBytes(text, span);
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        _output.Advance(n);
        _unflushed = true;
    }

    private void WriteQueued(QueueId id)
    {
        var span = _output.GetSpan(64);
        "250 2.0.0 Ok: queued as "u8.CopyTo(span);
        int n = 24;
        id.Format(span[n..]);
        n += QueueId.Length;
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        _output.Advance(n);
        _unflushed = true;
    }

    private void WriteBdatOk(long bytes)
    {
        var span = _output.GetSpan(64);
        "250 2.0.0 Ok: "u8.CopyTo(span);
        int n = 14;
        bytes.TryFormat(span[n..], out int w);
        n += w;
        " bytes\r\n"u8.CopyTo(span[n..]);
        n += 8;
        _output.Advance(n);
        _unflushed = true;
    }
}
