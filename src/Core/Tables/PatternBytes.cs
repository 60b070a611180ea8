// Real Postfix matches regexp: and pcre: tables on bytes: glibc regcomp() in the C locale and
// PCRE2 without UTF (Postfix 3.7 on Debian), so "." is one byte, [[:alpha:]] and the "i" flag
// know only ASCII letters, and "é" never matches "É". We reproduce that on .NET strings by
// mapping each byte to one char: ASCII stays ASCII, bytes 0x80-0xFF become U+E080-U+E0FF
// (private use, which has no case mappings, so RegexOptions.IgnoreCase folds only A-Z).
// Patterns and keys go through the same mapping; $N text is mapped back to the original bytes.
// Input: keys (untrusted) and patterns (trusted); any byte sequence maps, nothing is rejected.
using System.Text;

namespace Postfix.Core.Tables;

internal static class PatternBytes
{
    private const char HighBase = '\uE000';

    public static char ToChar(byte b) => b < 0x80 ? (char)b : (char)(HighBase + b);

    public static void Decode(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        for (int i = 0; i < bytes.Length; i++) chars[i] = ToChar(bytes[i]);
    }

    /// <summary>A pattern (UTF-8 text from the table file) in byte-char form.</summary>
    public static string FromString(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return string.Create(bytes.Length, bytes, static (chars, b) => Decode(b, chars));
    }

    /// <summary>Writes matched byte-chars back as the bytes they came from; returns the count.</summary>
    public static int Encode(ReadOnlySpan<char> chars, Span<byte> bytes)
    {
        for (int i = 0; i < chars.Length; i++)
        {
            char c = chars[i];
            bytes[i] = c < 0x80 ? (byte)c : (byte)(c - HighBase);
        }
        return chars.Length;
    }
}
