// qshape(1)'s table: per-domain message counts by age bucket, and its layout.
// Mirrors /usr/sbin/qshape: bucket i holds ages in [t(i-1), t(i)) minutes with
// t doubling from -t (or growing by -t with -l), the last bucket open-ended;
// columns as wide as the TOTAL count or heading needs, plus one space (at least
// 3); the domain column right-aligned to fill -w columns (at least 18), long
// names cut to their tail behind '+'; rows by count, then shorter name first.
// Input is domains already normalised by Domain() on the queue side; nothing
// here trusts them beyond being strings.
namespace Postfix.Host.Commands;

public sealed class QshapeTable
{
    /// <summary>qshape's minimum domain column width.</summary>
    public const int MinDomainWidth = 18;
    public const string Total = "TOTAL";

    private readonly QshapeOptions _o;
    private readonly Dictionary<string, long[]> _q = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _sub = new(StringComparer.Ordinal);

    public QshapeTable(QshapeOptions options)
    {
        _o = options;
        _q[Total] = new long[_o.Buckets + 1];
    }

    /// <summary>
    /// qshape's domain of an address: lower-cased (ASCII only, as Perl's lc on bytes),
    /// "" is MAILER-DAEMON, everything through the last '@' dropped, ".." made ".",
    /// one leading and one trailing dot dropped. Control characters and tabs become
    /// '?' (they would garble a terminal, and tab separates the showq answer).
    /// </summary>
    public static string Domain(string address)
    {
        var a = address.Length == 0 ? "MAILER-DAEMON" : AsciiLower(address);
        int at = a.LastIndexOf('@');
        if (at >= 0) a = a[(at + 1)..];
        a = a.Replace("..", ".");
        // Perl: s/\.?(.+?)\.?$/$1/ keeps at least one character.
        if (a.Length > 1 && a[0] == '.') a = a[1..];
        if (a.Length > 1 && a[^1] == '.') a = a[..^1];
        return string.Create(a.Length, a, static (span, s) =>
        {
            for (int i = 0; i < s.Length; i++) span[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
        });
    }

    private static string AsciiLower(string s)
    {
        foreach (char c in s)
            if (char.IsAsciiLetterUpper(c))
                return string.Create(s.Length, s, static (span, src) =>
                {
                    for (int i = 0; i < src.Length; i++) span[i] = char.IsAsciiLetterUpper(src[i]) ? (char)(src[i] | 0x20) : src[i];
                });
        return s;
    }

    /// <summary>Bucket 1..Buckets for a message <paramref name="ageSeconds"/> old (qshape's bucket()).</summary>
    public int Bucket(long ageSeconds)
    {
        double m = ageSeconds / (60.0 * _o.BucketMinutes);
        if (m < 1) return 1;
        long b = _o.Linear ? (long)(m + 1) : 2 + (long)(Math.Log(m) / Math.Log(2));
        return (int)Math.Min(b, _o.Buckets);
    }

    /// <summary>Counts one message: each of its domains once per address (one sender, or its recipients).</summary>
    public void Add(long ageSeconds, IEnumerable<string> domains)
    {
        int b = Bucket(ageSeconds);
        var total = _q[Total];
        foreach (var leaf in domains)
        {
            total[0]++;
            total[b]++;
            AddToDomain(leaf, row => { row[0]++; row[b]++; });
        }
    }

    /// <summary>
    /// Adds counts already bucketed elsewhere (qshape -C: a node's published shape):
    /// <paramref name="row"/> is [total, bucket 1..Buckets], as this table's rows.
    /// </summary>
    public void AddRow(string leaf, IReadOnlyList<long> row)
    {
        void AddTo(long[] r)
        {
            for (int i = 0; i < r.Length; i++) r[i] += Math.Max(0, row[i]);
        }
        AddTo(_q[Total]);
        AddToDomain(leaf, AddTo);
    }

    // Adds to the row of leaf and, with parents shown, of each parent domain; a row that was
    // empty before counts as one more subdomain of its parent.
    private void AddToDomain(string leaf, Action<long[]> add)
    {
        var d = leaf;
        bool isNew = false;
        while (true)
        {
            if (!_q.TryGetValue(d, out var row)) _q[d] = row = new long[_o.Buckets + 1];
            bool old = row[0] > 0;
            add(row);
            if (isNew) _sub[d] = _sub.GetValueOrDefault(d) + 1;
            isNew = !old;
            if (!_o.Parents || Parent(d) is not { } parent) break;
            d = parent;
        }
    }

    /// <summary>
    /// Perl: s/^(?:\.)?[^.]+\.(.*\.)/.$1/ — drop the first label, keep a leading dot,
    /// and stop before a top-level domain (the rest must still hold a dot).
    /// </summary>
    private static string? Parent(string d)
    {
        int start = d.StartsWith('.') ? 1 : 0;
        int dot = d.IndexOf('.', start);
        if (dot <= start) return null;
        var rest = d[(dot + 1)..];
        return rest.Contains('.') ? "." + rest : null;
    }

    public void Write(TextWriter w)
    {
        var total = _q[Total];
        var heads = new string[_o.Buckets + 1];
        var widths = new int[_o.Buckets + 1];
        int dw = _o.Width;
        long t = 0;
        string label = "0";
        for (int i = 0; i <= _o.Buckets;)
        {
            var h = i == 0 ? "T" : label;
            int l = Math.Max(total[i].ToString().Length, h.Length);
            l = l > 2 ? l + 1 : 3;
            heads[i] = h;
            widths[i] = l;
            dw -= l;
            if (++i < _o.Buckets)
            {
                t += t != 0 && !_o.Linear ? t : _o.BucketMinutes;
                label = t.ToString();
            }
            else label = t + "+";
        }
        dw = Math.Max(dw, MinDomainWidth);

        WriteRow(w, dw, "", heads, widths);
        int n = 0;
        foreach (var (d, row) in _q.OrderByDescending(kv => kv.Value[0]).ThenBy(kv => kv.Key.Length).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (d.StartsWith('.') && _sub.GetValueOrDefault(d) < _o.MinSubdomains) continue;
            if (_o.TopDomains > 0 && ++n > _o.TopDomains) break;
            WriteRow(w, dw, d, Array.ConvertAll(row, c => c.ToString()), widths);
        }
    }

    private static void WriteRow(TextWriter w, int dw, string name, string[] cells, int[] widths)
    {
        var sb = new System.Text.StringBuilder(dw + widths.Sum() + 1);
        if (name.Length > dw)
            sb.Append(name[0] == '.' ? ".+" + name[(name.Length - dw + 2)..] : "+" + name[(name.Length - dw + 1)..]);
        else
            sb.Append(' ', dw - name.Length).Append(name);
        for (int i = 0; i < cells.Length; i++) sb.Append(cells[i].PadLeft(widths[i]));
        w.WriteLine(sb.ToString());
    }
}
