// smtpd_sasl_type = table (OUR extension): smtpd_sasl_path names a file of
// "user:{SCHEME}data" lines, read once per (re)load; more ":"-separated fields
// after the password are ignored, so a Dovecot passwd-file can be shared.
// Blank lines and "#" comments are skipped. The file is trusted operator data
// (a bad line is a config error naming file:line); usernames are compared
// exactly, as Dovecot does by default.
namespace Postfix.Protocols.Sasl;

public sealed class SaslPasswordTable : ISaslPasswordVerifier
{
    private const int MaxLineLength = 4096;
    private readonly Dictionary<string, string> _users;

    private SaslPasswordTable(Dictionary<string, string> users) => _users = users;

    public string Type => "table";

    public int Count => _users.Count;

    /// <summary>Reads the file; throws FormatException ("file:line: problem") for a bad line.</summary>
    public static SaslPasswordTable Load(string path)
    {
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        int n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            var t = line.Trim();
            if (t.Length == 0 || t[0] == '#') continue;
            if (t.Length > MaxLineLength) throw new FormatException($"{path}:{n}: line too long");
            int colon = t.IndexOf(':');
            if (colon <= 0) throw new FormatException($"{path}:{n}: expected user:{{SCHEME}}password");
            var user = t[..colon];
            var rest = t[(colon + 1)..];
            int end = rest.IndexOf(':');
            var stored = end < 0 ? rest : rest[..end];
            if (!SaslPasswordScheme.IsSupported(stored, out var error)) throw new FormatException($"{path}:{n}: {error}");
            if (!users.TryAdd(user, stored)) throw new FormatException($"{path}:{n}: duplicate user \"{user}\"");
        }
        return new SaslPasswordTable(users);
    }

    public ValueTask<SaslVerdict> VerifyAsync(string username, string password, CancellationToken cancellationToken)
    {
        bool ok = _users.TryGetValue(username, out var stored) && SaslPasswordScheme.Verify(stored, password);
        return ValueTask.FromResult(ok ? SaslVerdict.Ok : SaslVerdict.Failed);
    }
}
