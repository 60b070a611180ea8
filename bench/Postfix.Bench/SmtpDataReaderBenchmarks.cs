// DATA phase: SmtpDataReader unstuffing a 4 KB and a 64 KB message (about one
// line in eight dot-stuffed) handed over in 4 KB chunks, as a Pipe would, into
// a PooledBuffer reused across messages (Reset per message) as a session does.
// The MB/s column is wire bytes (stuffed, with the final ".") per second.
using System.Text;
using BenchmarkDotNet.Attributes;
using Postfix.Core.Util;
using Postfix.Protocols.Smtpd;

namespace Postfix.Bench;

[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 8)]
[Config(typeof(ThroughputConfig))]
public class SmtpDataReaderBenchmarks
{
    private const int ChunkSize = 4096;

    [Params(4 * 1024, 64 * 1024)]
    public int MessageSize { get; set; }

    private byte[] _wire = [];
    private int _expected;
    private PooledBuffer _output = null!;

    [GlobalSetup]
    public void Setup()
    {
        _wire = BuildWire(MessageSize, out _expected);
        _output = new PooledBuffer(4096, 10 * 1024 * 1024); // message_size_limit default
        if (Unstuff() != _expected) throw new InvalidOperationException("unstuffed length mismatch");
    }

    /// <summary>The message as sent after DATA (stuffed, ending in ".CRLF"); <paramref name="unstuffedLength"/> is what must come out.</summary>
    public static byte[] BuildWire(int messageSize, out int unstuffedLength)
    {
        const string Headers =
            "Received: from client.example.org (client.example.org [127.0.0.1])\r\n" +
            "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: benchmark\r\n\r\n";
        var wire = new StringBuilder(Headers);
        int unstuffed = Headers.Length;
        for (int n = 0; unstuffed < messageSize; n++)
        {
            // Every eighth line starts with a dot and is sent stuffed ("..").
            string text = n % 8 == 7 ? ".dotted line " + n : "body line " + n + " lorem ipsum dolor sit amet consectetur adipiscing";
            unstuffed += text.Length + 2;
            wire.Append(text.StartsWith('.') ? "." : "").Append(text).Append("\r\n");
        }
        wire.Append(".\r\n");
        unstuffedLength = unstuffed;
        return Encoding.ASCII.GetBytes(wire.ToString());
    }

    [GlobalCleanup]
    public void Cleanup() => _output.Dispose();

    [Benchmark]
    public int Unstuff()
    {
        _output.Reset();
        var reader = new SmtpDataReader(10 * 1024 * 1024, forbidBareNewline: false);
        ReadOnlySpan<byte> wire = _wire;
        for (int off = 0; off < wire.Length; off += ChunkSize)
        {
            var chunk = wire.Slice(off, Math.Min(ChunkSize, wire.Length - off));
            while (!chunk.IsEmpty)
            {
                var status = reader.Process(chunk, _output, out int consumed);
                chunk = chunk[consumed..];
                if (status == DataStatus.Done) return _output.Length;
                if (status != DataStatus.NeedMore) throw new InvalidOperationException(status.ToString());
            }
        }
        throw new InvalidOperationException("no end of data");
    }
}
