// cleanup(8)'s recipient extraction for sendmail -t: the addresses in To:,
// Cc: and Bcc: (or, when the message carries Resent- headers, only in
// Resent-To:, Resent-Cc: and Resent-Bcc:, as RFC 5322 3.6.6 and Postfix do),
// and the message without its Bcc: headers. Content is untrusted; folded
// header lines are unfolded before parsing.
using System.Text;

namespace Postfix.Core.Cleanup;

public static class RecipientHeaders
{
    private static readonly string[] Plain = ["to", "cc", "bcc"];
    private static readonly string[] Resent = ["resent-to", "resent-cc", "resent-bcc"];

    /// <summary>Each header in the section as (name, unfolded value, start, length).</summary>
    public static IEnumerable<(string Name, string Value, int Start, int Length)> Headers(byte[] content, int headerEnd)
    {
        int pos = 0;
        while (pos < headerEnd)
        {
            int start = pos;
            int colon = -1;
            // One header: its first line and the continuation lines (starting with space or tab).
            do
            {
                int nl = Array.IndexOf(content, (byte)'\n', pos, headerEnd - pos);
                if (colon < 0) colon = Array.IndexOf(content, (byte)':', pos, (nl < 0 ? headerEnd : nl) - pos);
                pos = nl < 0 ? headerEnd : nl + 1;
            } while (pos < headerEnd && (content[pos] == (byte)' ' || content[pos] == (byte)'\t'));
            if (colon <= start) continue;
            var name = Encoding.UTF8.GetString(content, start, colon - start).Trim().ToLowerInvariant();
            var value = Encoding.UTF8.GetString(content, colon + 1, pos - colon - 1).Replace("\r\n", " ").Replace('\n', ' ');
            yield return (name, value, start, pos - start);
        }
    }

    public static List<string> Extract(byte[] content, int headerEnd)
    {
        var all = Headers(content, headerEnd).ToList();
        var names = all.Any(h => h.Name.StartsWith("resent-", StringComparison.Ordinal)) ? Resent : Plain;
        var result = new List<string>();
        foreach (var h in all)
            if (Array.IndexOf(names, h.Name) >= 0) result.AddRange(AddressList.Parse(h.Value));
        return result;
    }

    /// <summary>The content minus every Bcc: and Resent-Bcc: header.</summary>
    public static byte[] WithoutBcc(byte[] content, int length, int headerEnd)
    {
        var output = new MemoryStream(length);
        int copied = 0;
        foreach (var h in Headers(content, headerEnd))
        {
            if (h.Name is not ("bcc" or "resent-bcc")) continue;
            output.Write(content, copied, h.Start - copied);
            copied = h.Start + h.Length;
        }
        output.Write(content, copied, length - copied);
        return output.ToArray();
    }
}
