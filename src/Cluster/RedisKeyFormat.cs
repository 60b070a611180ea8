// key_format of a redis: table: the store key (or hash field, or set member) built from the
// lookup key with mysql_table(5)'s query expansions: %s the whole key, %u its local part (the
// whole key when it has no '@'), %d its domain part, %% a '%'. As in Postfix, a key that cannot
// fill the format is not looked up at all: %d with no '@' or an empty domain, %u with an empty
// local part ("@domain" keys). The format is trusted configuration; keys are untrusted bytes
// that are copied, never interpreted (Redis keys are binary safe).
namespace Postfix.Cluster;

public sealed class RedisKeyFormat
{
    private enum Part : byte { Literal, Whole, Local, Domain }

    private readonly (Part Kind, byte[] Text)[] _parts;

    private RedisKeyFormat((Part, byte[])[] parts) => _parts = parts;

    /// <exception cref="FormatException">An unknown or dangling % escape.</exception>
    public static RedisKeyFormat Parse(string format)
    {
        var parts = new List<(Part, byte[])>();
        var literal = new System.Text.StringBuilder();
        void Literal()
        {
            if (literal.Length > 0) parts.Add((Part.Literal, System.Text.Encoding.UTF8.GetBytes(literal.ToString())));
            literal.Clear();
        }
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%') { literal.Append(format[i]); continue; }
            if (++i >= format.Length) throw new FormatException("key_format ends in a lone '%'");
            switch (format[i])
            {
                case '%': literal.Append('%'); break;
                case 's': Literal(); parts.Add((Part.Whole, [])); break;
                case 'u': Literal(); parts.Add((Part.Local, [])); break;
                case 'd': Literal(); parts.Add((Part.Domain, [])); break;
                default: throw new FormatException($"key_format: unknown expansion %{format[i]} (known: %s, %u, %d, %%)");
            }
        }
        Literal();
        if (!parts.Exists(p => p.Item1 != Part.Literal)) throw new FormatException("key_format has no %s, %u or %d: every key would look up the same entry");
        return new RedisKeyFormat([.. parts]);
    }

    /// <summary>The expanded key, or null when the key cannot fill the format (not found, no query).</summary>
    public byte[]? Expand(ReadOnlySpan<byte> key)
    {
        int at = key.LastIndexOf((byte)'@');
        var local = at < 0 ? key : key[..at];
        var domain = at < 0 ? default : key[(at + 1)..];
        int length = 0;
        foreach (var (kind, text) in _parts)
        {
            switch (kind)
            {
                case Part.Literal: length += text.Length; break;
                case Part.Whole: length += key.Length; break;
                case Part.Local: if (local.IsEmpty) return null; length += local.Length; break;
                case Part.Domain: if (at < 0 || domain.IsEmpty) return null; length += domain.Length; break;
            }
        }
        var result = new byte[length];
        int p = 0;
        foreach (var (kind, text) in _parts)
        {
            var piece = kind switch { Part.Literal => text, Part.Whole => key, Part.Local => local, _ => domain };
            piece.CopyTo(result.AsSpan(p));
            p += piece.Length;
        }
        return result;
    }
}
