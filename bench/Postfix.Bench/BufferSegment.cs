// Builds multi-segment ReadOnlySequence<byte> values for benchmarks, the shape
// a Pipe hands smtpd when a command line straddles two buffer segments.
using System.Buffers;

namespace Postfix.Bench;

public sealed class BufferSegment : ReadOnlySequenceSegment<byte>
{
    private BufferSegment(ReadOnlyMemory<byte> memory) => Memory = memory;

    private BufferSegment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new BufferSegment(memory) { RunningIndex = RunningIndex + Memory.Length };
        Next = next;
        return next;
    }

    /// <summary>Splits <paramref name="data"/> into segments of <paramref name="segmentSize"/> bytes (the last may be shorter).</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, int segmentSize)
    {
        if (data.Length <= segmentSize) return new ReadOnlySequence<byte>(data);
        var first = new BufferSegment(data.AsMemory(0, segmentSize));
        var last = first;
        for (int off = segmentSize; off < data.Length; off += segmentSize)
            last = last.Append(data.AsMemory(off, Math.Min(segmentSize, data.Length - off)));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
