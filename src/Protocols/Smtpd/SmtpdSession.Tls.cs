// smtpd(8) TLS: the STARTTLS verb (RFC 3207) and wrapper mode (smtps, RFC 8314
// implicit TLS), both ending in one server handshake over the connection's
// plaintext pipes (SslStream on SmtpdPipeStream), after which the session reads
// and writes through new pipes over the SslStream. Untrusted input: plaintext
// pipelined after STARTTLS is never read as a command inside TLS (CVE-2011-0411:
// like Postfix, it is logged as improper pipelining and discarded).
using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Postfix.Protocols.Tls;

namespace Postfix.Protocols.Smtpd;

public sealed partial class SmtpdSession
{
    private SslStream? _ssl;
    private TlsSessionSummary? _tls;
    private volatile bool _handshaking;

    /// <summary>The negotiated TLS session, or null in plaintext.</summary>
    internal TlsSessionSummary? Tls => _tls;

    private Next StartTls(ReadOnlySpan<byte> arg)
    {
        _stats.StartTls.Total++;
        if (!SmtpCommandParser.Trim(arg).IsEmpty) return Error(SmtpdReplies.StartTlsSyntax);
        if (_tls is not null) return Error(SmtpdReplies.TlsAlreadyActive);
        if (!_s.OffersStartTls) return Error(SmtpdReplies.StartTlsNotOffered);
        Write(SmtpdReplies.ReadyToStartTls);
        return Next.StartTls;
    }

    /// <summary>
    /// Bytes the client sent after STARTTLS, before it could have seen our 220:
    /// Postfix's "improper command pipelining after STARTTLS" (smtpd.c), then
    /// vstream_fpurge. We log the first bytes, escaped, and drop them all.
    /// </summary>
    private void LogInjectedPlaintext(in ReadOnlySequence<byte> rest)
    {
        var head = rest.Slice(0, Math.Min(rest.Length, 100)).ToArray();
        var sb = new StringBuilder(head.Length + 16);
        foreach (byte b in head)
        {
            if (b == '\r') sb.Append("\\r");
            else if (b == '\n') sb.Append("\\n");
            else if (b is >= 0x20 and < 0x7f) sb.Append((char)b);
            else sb.Append('?');
        }
        _server.Log.Info("smtpd", _pid, $"improper command pipelining after STARTTLS from {_clientLabel}: {sb}");
    }

    /// <summary>
    /// The server handshake under smtpd_starttls_timeout. On success the session's
    /// pipes are the TLS ones and everything learned from the client is forgotten
    /// (RFC 3207 section 4.2: the client must EHLO again). False: the connection is lost.
    /// </summary>
    private async Task<bool> HandshakeAsync()
    {
        var ctx = _s.Tls!;
        _handshaking = true;
        var ssl = new SslStream(new SmtpdPipeStream(_conn.Transport), leaveInnerStreamOpen: false);
        try
        {
            using var cts = new CancellationTokenSource(_s.StartTlsTimeout);
            await ssl.AuthenticateAsServerAsync(ctx.Options(_s.TlsMandatory), cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or InvalidOperationException)
        {
            string reason = e is OperationCanceledException ? "timed out" : (e.InnerException?.Message ?? e.Message);
            _server.Log.Info("smtpd", _pid, $"SSL_accept error from {_clientLabel}: {reason}");
            _lostConnection = true;
            await ssl.DisposeAsync().ConfigureAwait(false);
            return false;
        }
        finally
        {
            _lastActivity = Environment.TickCount64;
            _handshaking = false;
        }
        _ssl = ssl;
        _tls = TlsSessionSummary.From(ssl);
        _input = PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true));
        _output = PipeWriter.Create(ssl, new StreamPipeWriterOptions(leaveOpen: true));
        if (_s.TlsLogLevel >= 1)
            _server.Log.Info("smtpd", _pid, $"Anonymous TLS connection established from {_clientLabel}: {_tls}");
        _helo = [];
        _msg.Helo = "";
        _esmtp = false;
        _saslUser = _saslMethod = null;
        ResetTransaction();
        return true;
    }

    /// <summary>Sends close_notify, then closes the TLS layer and the plaintext output under it.</summary>
    private async Task CloseTlsAsync()
    {
        var ssl = _ssl!;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await ssl.ShutdownAsync().WaitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or NotSupportedException)
        {
            // The client went away first: nothing to say goodbye to.
        }
        await ssl.DisposeAsync().ConfigureAwait(false);
        await _conn.Transport.Output.CompleteAsync().ConfigureAwait(false);
    }
}
