// A minimal RFC 5322 section 2.2 header scanner: where the header section of
// queued content ends. bounce(8) uses it for RET=HDRS and for originals over
// bounce_size_limit (Postfix: IS_HEADER() in bounce_notify_util.c). Input is
// untrusted message content; the scan is bounded by the span and never throws.
namespace Postfix.Core.Bounce;

public static class HeaderSection
{
    /// <summary>
    /// Finds the end of the header section: the header lines (each with its line end) and
    /// their folded continuation lines, up to the first line that is not part of a header.
    /// </summary>
    /// <param name="headerLength">Bytes of header lines, line ends included; the body (or the
    /// empty separator line) starts here.</param>
    /// <returns>True when an empty line separates headers from body; false when the content
    /// ends inside the headers or a non-header line starts the body without a separator.</returns>
    public static bool Find(ReadOnlySpan<byte> content, out int headerLength)
    {
        int pos = 0;
        bool inHeader = false;
        while (pos < content.Length)
        {
            var rest = content[pos..];
            int nl = rest.IndexOf((byte)'\n');
            int lineEnd = nl < 0 ? rest.Length : nl + 1;
            var line = rest[..(nl < 0 ? rest.Length : nl)];
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];

            if (line.Length == 0)
            {
                headerLength = pos;
                return true;
            }

            bool continuation = line[0] is (byte)' ' or (byte)'\t';
            if (continuation ? !inHeader : !IsHeaderLine(line))
            {
                headerLength = pos;
                return false;
            }

            inHeader = true;
            pos += lineEnd;
        }

        headerLength = pos;
        return false;
    }

    /// <summary>field-name = 1*(%d33-57 / %d59-126), then optional WSP (obsolete syntax) and ':'.</summary>
    internal static bool IsHeaderLine(ReadOnlySpan<byte> line)
    {
        int i = 0;
        while (i < line.Length && line[i] is >= 33 and <= 126 and not (byte)':') i++;
        if (i == 0) return false;
        while (i < line.Length && line[i] is (byte)' ' or (byte)'\t') i++;
        return i < line.Length && line[i] == (byte)':';
    }
}
