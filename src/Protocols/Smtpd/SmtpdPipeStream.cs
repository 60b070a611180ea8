// A Stream over a Kestrel connection's plaintext pipes, for SslStream to run
// the TLS record layer on (Kestrel's own TLS middleware does the same over its
// DuplexPipeStream). Async only: SslStream is driven with async calls; sync
// Read/Write would block a thread-pool thread on the network. The bytes are
// untrusted TLS records; SslStream bounds and authenticates them.
using System.IO.Pipelines;

namespace Postfix.Protocols.Smtpd;

internal sealed class SmtpdPipeStream(IDuplexPipe transport) : Stream
{
    private readonly Stream _in = transport.Input.AsStream(leaveOpen: true);
    private readonly Stream _out = transport.Output.AsStream(leaveOpen: true);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _in.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _in.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _out.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _out.WriteAsync(buffer, offset, count, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => _out.FlushAsync(cancellationToken);

    public override void Flush() { } // PipeWriter's stream flushes on every WriteAsync

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("async only");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("async only");
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
