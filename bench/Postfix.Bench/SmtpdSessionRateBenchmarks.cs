// smtpd's MAIL path with the anvil message rate check, through a whole SmtpdSession over
// in-memory pipes (a ConnectionContext without a socket): per invocation the client pipelines
// Batch x "MAIL FROM / RSET" and reads the replies. The client (192.0.2.7) is not exempt, so
// every MAIL is counted: in this process's Anvil (no cluster_store: SmtpdSettings.ClientRates
// null, the single-node path that must stay allocation-free), or not at all (limit 0).
// Figures are per command.
using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using BenchmarkDotNet.Attributes;
using Postfix.Core.Logging;
using Postfix.Protocols.Smtpd;
using Postfix.Testing;

namespace Postfix.Bench;

[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 8)]
public class SmtpdSessionRateBenchmarks
{
    private const int Batch = 200;
    private const int Commands = 2 * Batch;

    [Params(0, int.MaxValue)]
    public int MessageRateLimit { get; set; }

    private byte[] _input = [];
    private SmtpdServer _server = null!;
    private PipeConnection _conn = null!;
    private Task _session = null!;

    [GlobalSetup]
    public void Setup()
    {
        _input = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("MAIL FROM:<alice@example.org>\r\nRSET\r\n", Batch)));
        var settings = new SmtpdSettings
        {
            MyHostname = "mx.bench.example",
            ClientMessageRateLimit = MessageRateLimit,
            IsEventLimitException = static _ => false,
            AnvilRateTimeUnit = TimeSpan.FromHours(1),
            JunkCommandLimit = int.MaxValue,
        };
        _server = new SmtpdServer(settings, new NoQueue(), Maillog.Null);
        _conn = new PipeConnection();
        _session = new SmtpdSession(_server, _conn).RunAsync();
        Send("EHLO client.example\r\n"u8.ToArray());
        ReadLines(2); // greeting + last EHLO line
    }

    [Benchmark(OperationsPerInvoke = Commands)]
    public void MailRset()
    {
        Send(_input);
        ReadLines(Commands);
    }

    // The harness itself must not allocate: the input fits the pipe, so the flush completes at once.
    private void Send(byte[] bytes)
    {
        _conn.ToServer.Writer.Write(bytes);
        var f = _conn.ToServer.Writer.FlushAsync();
        if (!f.IsCompleted) f.AsTask().Wait();
    }

    // Reads until <paramref name="replies"/> final reply lines ("NNN " lines) have arrived
    // (polling TryRead, which allocates nothing, unlike a Task per ReadAsync).
    private void ReadLines(int replies)
    {
        var reader = _conn.ToClient.Reader;
        int seen = 0;
        while (seen < replies)
        {
            ReadResult r;
            while (!reader.TryRead(out r)) Thread.Yield();
            var buffer = r.Buffer;
            var consumed = buffer.Start;
            while (buffer.Slice(consumed).PositionOf((byte)'\n') is { } nl)
            {
                var line = buffer.Slice(consumed, nl);
                if (line.Length > 3 && line.Slice(3, 1).FirstSpan[0] == (byte)' ') seen++;
                consumed = buffer.GetPosition(1, nl);
            }
            reader.AdvanceTo(consumed, buffer.End);
            if (r.IsCompleted) throw new InvalidOperationException("session ended");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _conn.ToServer.Writer.Complete();
        _session.Wait(TimeSpan.FromSeconds(5));
        _server.Dispose();
    }
}
