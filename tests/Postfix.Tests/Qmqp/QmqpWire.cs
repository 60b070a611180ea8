// Test helper: a raw QMQP client on loopback: sends whatever bytes a test
// wants (well-formed or not), reads the one netstring reply, and tells a
// server close from a hang, every wait bounded.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Postfix.Tests.Qmqp;

internal sealed class QmqpWire : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;

    private QmqpWire(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public int LocalPort => ((IPEndPoint)_client.Client.LocalEndPoint!).Port;

    public static async Task<QmqpWire> OpenAsync(int port)
    {
        var c = new TcpClient();
        await c.ConnectAsync(IPAddress.Loopback, port);
        return new QmqpWire(c);
    }

    public async Task SendAsync(byte[] data)
    {
        await _stream.WriteAsync(data);
        await _stream.FlushAsync();
    }

    /// <summary>Half-close: the server sees end of input.</summary>
    public void ShutdownSend() => _client.Client.Shutdown(SocketShutdown.Send);

    /// <summary>One reply netstring ("Kok..." etc.); null when the server closed without one.</summary>
    public async Task<string?> ReadReplyAsync(TimeSpan? bound = null)
    {
        using var cts = new CancellationTokenSource(bound ?? Bound);
        var buf = new List<byte>();
        var one = new byte[1];
        int length = -1;
        while (true)
        {
            int n;
            try { n = await _stream.ReadAsync(one, cts.Token); }
            catch (IOException) { n = 0; } // reset
            if (n == 0)
            {
                if (buf.Count == 0) return null;
                throw new InvalidDataException($"reply cut short: {Encoding.UTF8.GetString([.. buf])}");
            }
            buf.Add(one[0]);
            if (length < 0)
            {
                if (one[0] == (byte)':') length = int.Parse(Encoding.ASCII.GetString([.. buf[..^1]]));
                else if (!char.IsAsciiDigit((char)one[0]) || buf.Count > 10) throw new InvalidDataException("bad reply length");
                continue;
            }
            int start = buf.IndexOf((byte)':') + 1;
            if (buf.Count - start == length + 1)
            {
                if (buf[^1] != (byte)',') throw new InvalidDataException("reply without comma");
                return Encoding.UTF8.GetString([.. buf[start..^1]]);
            }
        }
    }

    /// <summary>True when the server closes (EOF or reset) within the bound, with nothing more to read.</summary>
    public async Task<bool> ClosedByServerAsync(TimeSpan? bound = null)
    {
        using var cts = new CancellationTokenSource(bound ?? Bound);
        var buf = new byte[256];
        try { return await _stream.ReadAsync(buf, cts.Token) == 0; }
        catch (IOException) { return true; }
        catch (OperationCanceledException) { return false; }
    }

    public void Dispose() => _client.Dispose();
}
