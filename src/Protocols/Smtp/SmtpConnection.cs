// One TCP connection to an SMTP or LMTP server (Postfix smtp_session.c plus
// the bounded I/O of global/smtp_stream.c). Replies are untrusted: each line
// is cut at MaxReplyLineLength, each reply keeps at most MaxReplyLines, every
// read and write runs under the smtp_*_timeout its caller names. A connection
// is owned by one delivery at a time (or idles in the cache); it is not
// thread-safe. After STARTTLS the same reader and writer run over an
// SslStream (StartTlsAsync).
using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Postfix.Protocols.Tls;

namespace Postfix.Protocols.Smtp;

internal sealed class SmtpConnection : IAsyncDisposable
{
    private const int ReadBufferSize = 4096;
    private static readonly byte[] QuitCommand = "QUIT\r\n"u8.ToArray();

    private readonly Socket _socket;
    private Stream _stream;
    private readonly byte[] _readBuffer;
    private readonly byte[] _line;
    private int _readPos, _readEnd;
    private CancellationTokenSource? _deadline;
    private CancellationToken _outer;
    private int _disposed;

    private SmtpConnection(Socket socket, SmtpHostAddress host, SmtpClientSettings settings)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _readBuffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        _line = new byte[Math.Max(16, settings.MaxReplyLineLength)];
        Reply = new SmtpReply(settings.MaxReplyLineLength, settings.MaxReplyLines);
        Host = host;
        NamAddr = $"{host.Name}[{host.Address}]";
        NamAddrPort = $"{NamAddr}:{host.Port}";
        CreatedAt = Environment.TickCount64;
        LastUsed = CreatedAt;
    }

    public SmtpHostAddress Host { get; }
    /// <summary>"name[addr]" as in Postfix diagnostics.</summary>
    public string NamAddr { get; }
    /// <summary>"name[addr]:port", the relay= field.</summary>
    public string NamAddrPort { get; }
    public SmtpFeatures Features { get; set; }
    /// <summary>The SIZE limit the server announced; 0 = none.</summary>
    public long SizeLimit { get; set; }
    public long CreatedAt { get; }
    public long LastUsed { get; set; }
    /// <summary>Set when the server said 421 or the conversation broke: never reuse.</summary>
    public bool Broken { get; set; }
    /// <summary>The TLS session after STARTTLS, or null in plaintext.</summary>
    public TlsSessionSummary? Tls { get; private set; }

    /// <summary>The last reply read; overwritten by the next read.</summary>
    public SmtpReply Reply { get; }
    /// <summary>Commands being assembled for one write (a pipelined batch or a single command).</summary>
    public ArrayBufferWriter<byte> Commands { get; } = new(1024);

    /// <summary>Opens the TCP connection under smtp_connect_timeout. Throws SocketException
    /// (SocketError.TimedOut when the timeout expired) or OperationCanceledException.</summary>
    public static async Task<SmtpConnection> ConnectAsync(SmtpHostAddress host, SmtpClientSettings settings, CancellationToken ct)
    {
        var socket = new Socket(host.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(settings.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(host.Address, host.Port), cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new SocketException((int)SocketError.TimedOut);
            }
            return new SmtpConnection(socket, host, settings);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The client TLS handshake after a 2xx reply to STARTTLS, under <paramref name="timeout"/>.
    /// Plaintext the server sent after its STARTTLS reply is dropped, never read as a reply
    /// inside TLS (the client side of CVE-2011-0411). Throws AuthenticationException for a
    /// failed handshake, SmtpTransportException for a lost or timed-out connection.
    /// </summary>
    public async ValueTask<SslStream> StartTlsAsync(SslClientAuthenticationOptions options, TimeSpan timeout)
    {
        _readPos = _readEnd = 0;
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        var token = Arm(timeout);
        try
        {
            await ssl.AuthenticateAsClientAsync(options, token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Broken = true;
            if (Map(e) is { } mapped && e is not System.Security.Authentication.AuthenticationException) throw mapped;
            throw;
        }
        _stream = ssl;
        Tls = TlsSessionSummary.From(ssl);
        return ssl;
    }

    /// <summary>Starts a use of this connection by one delivery (or by the cache sweeper).</summary>
    public void Begin(CancellationToken outer)
    {
        _outer = outer;
        _deadline = CancellationTokenSource.CreateLinkedTokenSource(outer);
    }

    public void End()
    {
        _deadline?.Dispose();
        _deadline = null;
        _outer = default;
        LastUsed = Environment.TickCount64;
    }

    /// <summary>True when an idle connection was closed by the server (EOF or unsolicited
    /// bytes, e.g. a 421 on idle timeout): it must not carry a new transaction.</summary>
    public bool PeerHasSpoken()
    {
        try
        {
            return _readPos != _readEnd || _socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Reads one complete reply under <paramref name="timeout"/>.</summary>
    public async ValueTask<SmtpReply> ReadReplyAsync(TimeSpan timeout)
    {
        var token = Arm(timeout);
        Reply.Reset();
        try
        {
            while (true)
            {
                int len = await ReadLineAsync(token).ConfigureAwait(false);
                if (Reply.AddLine(_line.AsSpan(0, len))) break;
            }
        }
        catch (Exception e) when (Map(e) is { } mapped)
        {
            Broken = true;
            throw mapped;
        }
        if (Reply.Code == 421) Broken = true;
        return Reply;
    }

    /// <summary>Writes the assembled <see cref="Commands"/> in one write and clears them.</summary>
    public async ValueTask FlushCommandsAsync(TimeSpan timeout)
    {
        await WriteAsync(Commands.WrittenMemory, timeout).ConfigureAwait(false);
        Commands.ResetWrittenCount();
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, TimeSpan timeout)
    {
        var token = Arm(timeout);
        try
        {
            await _stream.WriteAsync(data, token).ConfigureAwait(false);
        }
        catch (Exception e) when (Map(e) is { } mapped)
        {
            Broken = true;
            throw mapped;
        }
    }

    /// <summary>Appends a command line (ASCII/UTF-8 text plus CRLF) to <see cref="Commands"/>.</summary>
    public void AppendCommand(string text)
    {
        Encoding.UTF8.GetBytes(text.AsSpan(), Commands);
        Commands.Write("\r\n"u8);
    }

    /// <summary>Sends QUIT without waiting for the reply (smtp_skip_quit_response=yes) and closes.</summary>
    public async ValueTask QuitAsync(TimeSpan timeout)
    {
        if (!Broken && Volatile.Read(ref _disposed) == 0)
        {
            bool began = _deadline == null;
            if (began) Begin(CancellationToken.None);
            try
            {
                await WriteAsync(QuitCommand, timeout < TimeSpan.FromSeconds(5) ? timeout : TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (SmtpTransportException)
            {
                // Already gone: nothing to say goodbye to.
            }
            finally
            {
                if (began) End();
            }
        }
        await DisposeAsync().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return ValueTask.CompletedTask;
        _deadline?.Dispose();
        _deadline = null;
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        _stream.Dispose();
        ArrayPool<byte>.Shared.Return(_readBuffer);
        return ValueTask.CompletedTask;
    }

    private CancellationToken Arm(TimeSpan timeout)
    {
        var deadline = _deadline ?? throw new InvalidOperationException("connection used outside Begin/End");
        deadline.CancelAfter(timeout);
        return deadline.Token;
    }

    // Caller cancellation passes through; an expired deadline is a timeout whatever form the
    // aborted socket operation took (OperationCanceledException or an IOException).
    private Exception? Map(Exception e)
    {
        if (_outer.IsCancellationRequested || e is SmtpTransportException) return null;
        if (e is OperationCanceledException || _deadline?.IsCancellationRequested == true)
            return new SmtpTransportException(SmtpTransportError.Timeout, e);
        return e is IOException or SocketException or ObjectDisposedException
            ? new SmtpTransportException(SmtpTransportError.Lost, e)
            : null;
    }

    // One reply line into _line, cut at its length; the rest of an overlong line is discarded.
    private async ValueTask<int> ReadLineAsync(CancellationToken token)
    {
        int len = 0;
        while (true)
        {
            if (_readPos == _readEnd)
            {
                int n = await _stream.ReadAsync(_readBuffer.AsMemory(0, ReadBufferSize), token).ConfigureAwait(false);
                if (n == 0) throw new SmtpTransportException(SmtpTransportError.Lost);
                _readPos = 0;
                _readEnd = n;
            }
            if (TakeLinePiece(ref len)) break;
        }
        if (len > 0 && _line[len - 1] == (byte)'\r') len--;
        return len;
    }

    private bool TakeLinePiece(ref int len)
    {
        var avail = _readBuffer.AsSpan(_readPos, _readEnd - _readPos);
        int lf = avail.IndexOf((byte)'\n');
        var piece = lf >= 0 ? avail[..lf] : avail;
        int take = Math.Min(piece.Length, _line.Length - len);
        piece[..take].CopyTo(_line.AsSpan(len));
        len += take;
        _readPos += lf >= 0 ? lf + 1 : avail.Length;
        return lf >= 0;
    }
}
