// A growable byte buffer rented from ArrayPool with a hard upper bound: every
// buffer that holds network input has a limit (STYLE: "no buffer grows without a
// limit"). Reused across transactions of one session, so steady state allocates
// nothing. Not thread-safe: one owner.
using System.Buffers;

namespace Postfix.Core.Util;

public sealed class PooledBuffer : IDisposable
{
    private byte[] _array;
    private int _length;
    private readonly int _initialSize;

    public PooledBuffer(int initialSize = 4096, long maxSize = int.MaxValue)
    {
        _initialSize = initialSize;
        _array = ArrayPool<byte>.Shared.Rent(initialSize);
        MaxSize = (int)Math.Min(maxSize, Array.MaxLength);
    }

    public int MaxSize { get; set; }
    public int Length => _length;
    public ReadOnlySpan<byte> Span => _array.AsSpan(0, _length);
    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, _length);

    /// <summary>False when writing <paramref name="count"/> more bytes would pass <see cref="MaxSize"/>.</summary>
    public bool CanWrite(int count) => (long)_length + count <= MaxSize;

    public Span<byte> GetSpan(int sizeHint)
    {
        if (_array.Length - _length < sizeHint) Grow(sizeHint);
        return _array.AsSpan(_length);
    }

    public void Advance(int count) => _length += count;

    public void Write(ReadOnlySpan<byte> data)
    {
        data.CopyTo(GetSpan(data.Length));
        _length += data.Length;
    }

    public void WriteByte(byte b)
    {
        if (_length == _array.Length) Grow(1);
        _array[_length++] = b;
    }

    /// <summary>Inserts <paramref name="data"/> at <paramref name="offset"/>, moving what follows.</summary>
    public void Insert(int offset, ReadOnlySpan<byte> data)
    {
        if (_array.Length - _length < data.Length) Grow(data.Length);
        _array.AsSpan(offset, _length - offset).CopyTo(_array.AsSpan(offset + data.Length));
        data.CopyTo(_array.AsSpan(offset));
        _length += data.Length;
    }

    /// <summary>Truncates to <paramref name="length"/> bytes (used to roll back a partial write).</summary>
    public void SetLength(int length) => _length = length;

    public void Reset()
    {
        _length = 0;
        // A huge message should not pin its buffer for the rest of the session.
        if (_array.Length > 1 << 20)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = ArrayPool<byte>.Shared.Rent(_initialSize);
        }
    }

    private void Grow(int sizeHint)
    {
        long needed = (long)_length + sizeHint;
        long newSize = Math.Max(needed, Math.Min((long)_array.Length * 2, Array.MaxLength));
        var next = ArrayPool<byte>.Shared.Rent((int)Math.Min(newSize, Array.MaxLength));
        _array.AsSpan(0, _length).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_array);
        _array = next;
    }

    public void Dispose()
    {
        if (_array.Length > 0) ArrayPool<byte>.Shared.Return(_array);
        _array = [];
        _length = 0;
    }
}
