// local(8)'s forwarding-loop detector (Postfix local/delivered.c): the
// Delivered-To: addresses already in the message's primary header block,
// folded to lower case. Mail for a recipient listed there has been here
// before and bounces (5.4.6 "mail forwarding loop"). The content is
// untrusted: only the header block is scanned and the set is bounded.
using System.Text;

namespace Postfix.Core.Local;

public static class DeliveredToHeaders
{
    private const int MaxAddresses = 1000;

    public static HashSet<string> Read(ReadOnlySpan<byte> content)
    {
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        int pos = 0;
        while (pos < content.Length && set.Count < MaxAddresses)
        {
            int nl = content[pos..].IndexOf((byte)'\n');
            var line = nl < 0 ? content[pos..] : content.Slice(pos, nl);
            if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
            if (line.Length == 0) break; // end of headers
            pos = nl < 0 ? content.Length : pos + nl + 1;
            if (line[0] is (byte)' ' or (byte)'\t') continue; // continuation of some other header
            if (!line.StartsWith("Delivered-To:"u8) && !StartsWithIgnoreCase(line, "delivered-to:"u8)) continue;
            var value = new StringBuilder(Encoding.UTF8.GetString(line["Delivered-To:".Length..]));
            // Folded value: continuation lines belong to it.
            while (pos < content.Length && content[pos] is (byte)' ' or (byte)'\t')
            {
                int n2 = content[pos..].IndexOf((byte)'\n');
                var cont = n2 < 0 ? content[pos..] : content.Slice(pos, n2);
                value.Append(Encoding.UTF8.GetString(cont).TrimEnd('\r'));
                pos = n2 < 0 ? content.Length : pos + n2 + 1;
            }
            var addr = value.ToString().Trim().Trim('<', '>').Trim();
            if (addr.Length > 0) set.Add(addr.ToLowerInvariant());
        }
        return set;
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> line, ReadOnlySpan<byte> lowerPrefix)
    {
        if (line.Length < lowerPrefix.Length) return false;
        for (int i = 0; i < lowerPrefix.Length; i++)
        {
            byte b = line[i];
            if (b is >= (byte)'A' and <= (byte)'Z') b = (byte)(b + 32);
            if (b != lowerPrefix[i]) return false;
        }
        return true;
    }
}
