// Test peer: a loopback UDP DNS server answering from a small table, so MX
// ordering, implicit MX, null MX, NXDOMAIN and SERVFAIL reach the resolver
// exactly as a real server would send them (RFC 1035 wire format, names
// uncompressed in answers). Unknown names get NXDOMAIN.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postfix.Tests.Smtp;

internal sealed class FakeDnsServer : IAsyncDisposable
{
    public const ushort TypeA = 1, TypeMx = 15, TypeAaaa = 28;

    private readonly UdpClient _udp;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Dictionary<string, List<(int Preference, string Exchange)>> _mx = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<IPAddress>> _a = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _servfail = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _exists = new(StringComparer.OrdinalIgnoreCase);
    private int _queries;

    public FakeDnsServer()
    {
        _udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        EndPoint = (IPEndPoint)_udp.Client.LocalEndPoint!;
        _loop = LoopAsync();
    }

    public IPEndPoint EndPoint { get; }

    public int Queries => Volatile.Read(ref _queries);

    public FakeDnsServer Mx(string domain, int preference, string exchange)
    {
        lock (_mx) { (_mx.TryGetValue(domain, out var l) ? l : _mx[domain] = []).Add((preference, exchange)); _exists.Add(domain); }
        return this;
    }

    public FakeDnsServer A(string name, string address)
    {
        lock (_mx) { (_a.TryGetValue(name, out var l) ? l : _a[name] = []).Add(IPAddress.Parse(address)); _exists.Add(name); }
        return this;
    }

    /// <summary>The name exists but has no records (NOERROR, empty answer).</summary>
    public FakeDnsServer Exists(string name)
    {
        lock (_mx) _exists.Add(name);
        return this;
    }

    public FakeDnsServer ServFail(string name)
    {
        lock (_mx) _servfail.Add(name);
        return this;
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult rx;
            try { rx = await _udp.ReceiveAsync(_stop.Token); }
            catch (Exception) { if (_stop.IsCancellationRequested) return; continue; }
            Interlocked.Increment(ref _queries);
            byte[]? reply;
            try { reply = Answer(rx.Buffer); }
            catch (Exception) { continue; }
            if (reply != null) await _udp.SendAsync(reply, rx.RemoteEndPoint, _stop.Token);
        }
    }

    private byte[]? Answer(byte[] q)
    {
        if (q.Length < 12) return null;
        int p = 12;
        var name = new StringBuilder();
        while (q[p] != 0)
        {
            int len = q[p++];
            if (name.Length > 0) name.Append('.');
            name.Append(Encoding.ASCII.GetString(q, p, len));
            p += len;
        }
        p++;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(p));
        p += 4;
        var question = q.AsSpan(12, p - 12);
        string n = name.ToString();

        int rcode = 0;
        var answers = new List<byte[]>();
        lock (_mx)
        {
            if (_servfail.Contains(n)) rcode = 2;
            else if (!_exists.Contains(n)) rcode = 3;
            else if (type == TypeMx && _mx.TryGetValue(n, out var mx))
                foreach (var (pref, exchange) in mx) answers.Add(Record(n, TypeMx, Mx(pref, exchange)));
            else if (type == TypeA && _a.TryGetValue(n, out var addrs))
                foreach (var a in addrs) answers.Add(Record(n, TypeA, a.GetAddressBytes()));
        }

        var reply = new List<byte>();
        var header = new byte[12];
        header[0] = q[0];
        header[1] = q[1];
        header[2] = (byte)(0x80 | (q[2] & 0x01)); // QR, RD copied
        header[3] = (byte)(0x80 | rcode);         // RA
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), (ushort)answers.Count);
        reply.AddRange(header);
        reply.AddRange(question.ToArray());
        foreach (var a in answers) reply.AddRange(a);
        return reply.ToArray();
    }

    private static byte[] Name(string name)
    {
        var b = new List<byte>();
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            b.Add((byte)label.Length);
            b.AddRange(Encoding.ASCII.GetBytes(label));
        }
        b.Add(0);
        return b.ToArray();
    }

    private static byte[] Mx(int preference, string exchange)
    {
        var b = new List<byte> { (byte)(preference >> 8), (byte)preference };
        b.AddRange(Name(exchange));
        return b.ToArray();
    }

    private static byte[] Record(string owner, ushort type, byte[] rdata)
    {
        var b = new List<byte>(Name(owner));
        b.AddRange([(byte)(type >> 8), (byte)type, 0, 1, 0, 0, 0, 0, (byte)(rdata.Length >> 8), (byte)rdata.Length]);
        b.AddRange(rdata);
        return b.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _udp.Dispose();
        await _loop;
        _stop.Dispose();
    }
}
