// smtpd_sasl_type = dovecot (Postfix xsasl/xsasl_dovecot_server.c): the
// Dovecot authentication protocol 1.1 over the auth-client UNIX socket at
// smtpd_sasl_path. One short connection per AUTH: handshake (VERSION, MECH...,
// DONE), then "AUTH id PLAIN service=smtp resp=base64(\0user\0pass)". LOGIN is
// converted to PLAIN here, as both carry a username and password. Dovecot's
// replies are trusted no more than any peer: lines are bounded, and only OK,
// FAIL (temp flag = 454) and CONT (not expected for PLAIN) are understood.
using System.Net.Sockets;
using System.Text;

namespace Postfix.Protocols.Sasl;

public sealed class SaslDovecotClient(string socketPath, string service = "smtp") : ISaslPasswordVerifier
{
    private const int MaxLineLength = 16 * 1024;
    private const int MaxHandshakeLines = 100;
    private static int _nextId;

    public string Type => "dovecot";

    public string SocketPath => socketPath;

    public async ValueTask<SaslVerdict> VerifyAsync(string username, string password, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var reader = new LineReader(stream);

        await WriteAsync(stream, $"VERSION\t1\t1\nCPID\t{Environment.ProcessId}\n", cancellationToken).ConfigureAwait(false);
        bool plain = false;
        for (int i = 0; ; i++)
        {
            if (i >= MaxHandshakeLines) throw new IOException("dovecot auth: handshake too long");
            var line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? throw new IOException("dovecot auth: connection closed during handshake");
            var f = line.Split('\t');
            if (f[0] == "VERSION" && f.Length >= 2 && f[1] != "1") throw new IOException($"dovecot auth: unsupported protocol version {f[1]}");
            if (f[0] == "MECH" && f.Length >= 2 && f[1].Equals("PLAIN", StringComparison.OrdinalIgnoreCase)) plain = true;
            if (f[0] == "DONE") break;
        }
        if (!plain) return SaslVerdict.TempFail("PLAIN mechanism not available");

        int id = Interlocked.Increment(ref _nextId) & 0x7fffffff;
        var resp = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{username}\0{password}"));
        // "secured": smtpd only asks when the session may carry a password (TLS or an operator's choice).
        await WriteAsync(stream, $"AUTH\t{id}\tPLAIN\tservice={service}\tnologin\tsecured\tresp={resp}\n", cancellationToken).ConfigureAwait(false);
        var reply = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? throw new IOException("dovecot auth: connection closed before the reply");
        var r = reply.Split('\t');
        if (r.Length < 2 || r[1] != id.ToString(System.Globalization.CultureInfo.InvariantCulture))
            throw new IOException("dovecot auth: unexpected reply");
        switch (r[0])
        {
            case "OK":
                return SaslVerdict.Ok;
            case "FAIL":
                if (r.Skip(2).Contains("temp")) return SaslVerdict.TempFail(Field(r, "reason") ?? "temporary failure");
                return SaslVerdict.Failed;
            default:
                return SaslVerdict.TempFail("unexpected reply from the authentication server");
        }
    }

    private static string? Field(string[] fields, string name) =>
        fields.Skip(2).FirstOrDefault(x => x.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];

    private static ValueTask WriteAsync(Stream s, string text, CancellationToken ct) => s.WriteAsync(Encoding.UTF8.GetBytes(text), ct);

    // LF-terminated lines, each bounded by MaxLineLength.
    private sealed class LineReader(Stream stream)
    {
        private readonly byte[] _buf = new byte[4096];
        private int _pos, _end;

        public async ValueTask<string?> ReadLineAsync(CancellationToken ct)
        {
            var line = new MemoryStream();
            while (true)
            {
                if (_pos == _end)
                {
                    _end = await stream.ReadAsync(_buf, ct).ConfigureAwait(false);
                    _pos = 0;
                    if (_end == 0) return null;
                }
                int nl = Array.IndexOf(_buf, (byte)'\n', _pos, _end - _pos);
                int take = (nl < 0 ? _end : nl) - _pos;
                if (line.Length + take > MaxLineLength) throw new IOException("dovecot auth: line too long");
                line.Write(_buf, _pos, take);
                _pos += take;
                if (nl >= 0)
                {
                    _pos++;
                    return Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length);
                }
            }
        }
    }
}
