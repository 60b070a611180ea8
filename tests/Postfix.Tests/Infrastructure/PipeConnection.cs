// An smtpd connection without a socket, for driving a whole SmtpdSession in memory: the
// test writes the client's bytes to ToServer and reads the replies from ToClient. Shared by
// the tests and the benchmarks (bench/Postfix.Bench links this file), with NoQueue for
// sessions that never reach DATA. The peer is 192.0.2.7 (TEST-NET-1), the server port 25.
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;

namespace Postfix.Testing;

internal sealed class PipeConnection : ConnectionContext
{
    public Pipe ToServer { get; } = new();
    public Pipe ToClient { get; } = new();

    public PipeConnection()
    {
        Transport = new DuplexPipe(ToServer.Reader, ToClient.Writer);
        RemoteEndPoint = new IPEndPoint(IPAddress.Parse("192.0.2.7"), 40000);
        LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 25);
    }

    public override IDuplexPipe Transport { get; set; }
    public override string ConnectionId { get; set; } = "pipe";
    public override IFeatureCollection Features { get; } = new FeatureCollection();
    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
    public override void Abort(ConnectionAbortedException abortReason) => ToServer.Writer.Complete();

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}

/// <summary>A queue that refuses every commit (sessions that never reach the end of DATA).</summary>
internal sealed class NoQueue : IQueueWriter
{
    public QueueId NewQueueId() => new(1);
    public ValueTask CommitAsync(MessageBuilder message, CancellationToken cancellationToken) => throw new QueueWriteException("no queue here");
    public int MaxRecordSize => 1 << 20;
}
