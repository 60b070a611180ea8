// A write-only stream over an open file that writes at explicit offsets from a
// start position, with its own bounded buffer. Unlike FileStream it never
// writes buffered bytes on its own (no flush on dispose), so after an error
// the caller can truncate the file back and be sure nothing lands after it.
// Bytes written are untrusted message content, copied verbatim.
using Microsoft.Win32.SafeHandles;

namespace Postfix.Core.Mailbox;

internal sealed class FileAppendStream(SafeFileHandle handle, long start) : Stream
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _used;
    private long _offset = start;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _offset + _used; set => throw new NotSupportedException(); }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            if (_used == _buffer.Length) Flush();
            int n = Math.Min(buffer.Length, _buffer.Length - _used);
            buffer[..n].CopyTo(_buffer.AsSpan(_used));
            _used += n;
            buffer = buffer[n..];
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Flush()
    {
        if (_used == 0) return;
        RandomAccess.Write(handle, _buffer.AsSpan(0, _used), _offset);
        _offset += _used;
        _used = 0;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
