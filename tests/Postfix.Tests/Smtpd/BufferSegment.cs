// Test helper: builds multi-segment ReadOnlySequence<byte> values, the shape a
// PipeReader hands smtpd when a command or DATA line straddles two reads.
using System.Buffers;

namespace Postfix.Tests.Smtpd;

internal sealed class BufferSegment : ReadOnlySequenceSegment<byte>
{
    private BufferSegment(byte[] data, long runningIndex)
    {
        Memory = data;
        RunningIndex = runningIndex;
    }

    /// <summary>A sequence of the given parts, each its own segment (empty parts kept).</summary>
    public static ReadOnlySequence<byte> Sequence(params byte[][] parts)
    {
        if (parts.Length == 0) return ReadOnlySequence<byte>.Empty;
        var first = new BufferSegment(parts[0], 0);
        var last = first;
        for (int i = 1; i < parts.Length; i++)
        {
            var next = new BufferSegment(parts[i], last.RunningIndex + last.Memory.Length);
            last.Next = next;
            last = next;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>The input split in two at <paramref name="at"/>, as two segments.</summary>
    public static ReadOnlySequence<byte> Split(byte[] input, int at) =>
        Sequence(input[..at], input[at..]);
}
