// Case folding of lookup keys as Postfix's lowercase() (A-Z) and casefold() (ICU full case
// folding when smtputf8_enable = yes). The ASCII path is the hot one and allocates nothing; the
// Unicode path works in pooled buffers. Our Unicode folding is .NET's invariant lowercase plus
// the full-folding cases that differ from it and that occur in names (ß -> ss, final sigma,
// ligatures, Cherokee, dotted I); rarer ICU expansions (e.g. U+0390) are not reproduced.
// Input: untrusted keys; invalid UTF-8 is reported, not repaired.
using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Postfix.Core.Tables;

internal static class TableKeyFold
{
    /// <summary>Keys up to this many bytes are folded into a stack buffer by the callers.</summary>
    public const int StackLimit = 256;

    /// <summary>An upper bound for the folded length of a key of <paramref name="length"/> bytes
    /// (a 2-byte UTF-8 character can fold to a 3-byte one).</summary>
    public static int MaxFoldedLength(int length) => length + length / 2 + 4;

    /// <summary>True when folding cannot change the key (no A-Z, and ASCII or no folding).</summary>
    public static bool IsFolded(KeyFoldMode mode, ReadOnlySpan<byte> key) =>
        mode == KeyFoldMode.None || (key.IndexOfAnyInRange((byte)'A', (byte)'Z') < 0 && (mode == KeyFoldMode.Ascii || Ascii.IsValid(key)));

    /// <summary>Folds <paramref name="key"/> into <paramref name="destination"/> (at least
    /// <see cref="MaxFoldedLength"/> bytes). Returns the folded length, or -1 when the key is not
    /// valid UTF-8 in <see cref="KeyFoldMode.Utf8"/> mode.</summary>
    public static int Fold(KeyFoldMode mode, ReadOnlySpan<byte> key, Span<byte> destination)
    {
        switch (mode)
        {
            case KeyFoldMode.None:
                key.CopyTo(destination);
                return key.Length;
            case KeyFoldMode.Ascii:
                if (Ascii.ToLower(key, destination, out int written) == OperationStatus.Done) return written;
                for (int i = 0; i < key.Length; i++)
                {
                    byte b = key[i];
                    destination[i] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;
                }
                return key.Length;
            default:
                return Ascii.ToLower(key, destination, out int n) == OperationStatus.Done ? n : FoldUnicode(key, destination);
        }
    }

    /// <summary>Folds to a new array (table building, not the lookup path); null for invalid UTF-8.</summary>
    public static byte[]? FoldToArray(KeyFoldMode mode, ReadOnlySpan<byte> key)
    {
        if (IsFolded(mode, key)) return key.ToArray();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxFoldedLength(key.Length));
        try
        {
            int n = Fold(mode, key, buffer);
            return n < 0 ? null : buffer.AsSpan(0, n).ToArray();
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    /// <summary>Folds a string the same way (for keys given as text).</summary>
    public static string FoldString(KeyFoldMode mode, string key)
    {
        var folded = FoldToArray(mode, Encoding.UTF8.GetBytes(key));
        return folded is null ? key : Encoding.UTF8.GetString(folded);
    }

    private static int FoldUnicode(ReadOnlySpan<byte> key, Span<byte> destination)
    {
        // UTF-16 never needs more code units than UTF-8 has bytes; full folding can triple them (U+FB03 -> "ffi").
        char[] chars = ArrayPool<char>.Shared.Rent(key.Length);
        char[] lower = ArrayPool<char>.Shared.Rent(key.Length);
        char[] folded = ArrayPool<char>.Shared.Rent(key.Length * 3);
        try
        {
            if (Utf8.ToUtf16(key, chars, out _, out int count, replaceInvalidSequences: false) != OperationStatus.Done) return -1;
            var source = chars.AsSpan(0, count);
            source.ToLowerInvariant(lower);
            int f = 0;
            for (int i = 0; i < count; i++)
                f += FoldChar(source[i], lower[i], folded.AsSpan(f));
            return Utf8.FromUtf16(folded.AsSpan(0, f), destination, out _, out int written) == OperationStatus.Done ? written : -1;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
            ArrayPool<char>.Shared.Return(lower);
            ArrayPool<char>.Shared.Return(folded);
        }
    }

    // Case folding (Unicode CaseFolding.txt, status C and F) where it differs from lowercasing.
    private static int FoldChar(char original, char lowered, Span<char> output)
    {
        switch (original)
        {
            case '\u0130': output[0] = 'i'; output[1] = '\u0307'; return 2; // İ
            case '\u00DF' or '\u1E9E': output[0] = 's'; output[1] = 's'; return 2; // ß, ẞ
            case '\uFB00': return Put(output, "ff");
            case '\uFB01': return Put(output, "fi");
            case '\uFB02': return Put(output, "fl");
            case '\uFB03': return Put(output, "ffi");
            case '\uFB04': return Put(output, "ffl");
            case '\uFB05' or '\uFB06': return Put(output, "st");
        }
        output[0] = lowered switch
        {
            '\u00B5' => '\u03BC', // micro sign -> mu
            '\u017F' => 's',      // long s
            '\u03C2' => '\u03C3', // final sigma
            '\u0345' or '\u1FBE' => '\u03B9',
            '\u03D0' => '\u03B2',
            '\u03D1' => '\u03B8',
            '\u03D5' => '\u03C6',
            '\u03D6' => '\u03C0',
            '\u03F0' => '\u03BA',
            '\u03F1' => '\u03C1',
            '\u03F5' => '\u03B5',
            '\u1E9B' => '\u1E61',
            >= '\uAB70' and <= '\uABBF' => (char)('\u13A0' + (lowered - '\uAB70')), // Cherokee folds to uppercase
            >= '\u13F8' and <= '\u13FD' => (char)('\u13F0' + (lowered - '\u13F8')),
            _ => lowered,
        };
        return 1;
    }

    private static int Put(Span<char> output, string s)
    {
        s.AsSpan().CopyTo(output);
        return s.Length;
    }
}
