// Password schemes of the smtpd_sasl_type = table file (OUR extension; the
// "{SCHEME}data" notation and the first three schemes are Dovecot's, so a
// Dovecot passwd-file works unchanged):
//   {PLAIN}secret (also {CLEAR})        clear text; for tests and migration
//   {SSHA256}base64(SHA256(pw+salt)+salt), {SSHA512} likewise
//   {PBKDF2-SHA256}iterations$base64(salt)$base64(key)   (OUR format; preferred)
// Stored hashes are trusted operator data; the password is untrusted client
// text. Comparison is constant-time.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Postfix.Protocols.Sasl;

public static class SaslPasswordScheme
{
    /// <summary>Iterations for new PBKDF2-SHA256 hashes (OWASP 2023 guidance for SHA-256 is 600k; we pick a cost per AUTH that a 2-core box tolerates).</summary>
    public const int DefaultPbkdf2Iterations = 100_000;

    /// <summary>True when <paramref name="stored"/> names a scheme we can verify.</summary>
    public static bool IsSupported(string stored, out string error)
    {
        error = "";
        if (!Split(stored, out var scheme, out var data)) { error = "missing {SCHEME} prefix"; return false; }
        switch (scheme)
        {
            case "PLAIN" or "CLEAR":
                return true;
            case "SSHA256" or "SSHA512":
                int hashLen = scheme == "SSHA256" ? 32 : 64;
                if (TryBase64(data, out var raw) && raw.Length > hashLen) return true;
                error = $"{{{scheme}}}: expected base64 of hash + salt";
                return false;
            case "PBKDF2-SHA256":
                if (TryPbkdf2(data, out _, out _, out _)) return true;
                error = "{PBKDF2-SHA256}: expected iterations$base64-salt$base64-key";
                return false;
            default:
                error = $"unsupported password scheme {{{scheme}}} (use PLAIN, SSHA256, SSHA512 or PBKDF2-SHA256)";
                return false;
        }
    }

    public static bool Verify(string stored, string password)
    {
        if (!Split(stored, out var scheme, out var data)) return false;
        var pw = Encoding.UTF8.GetBytes(password);
        switch (scheme)
        {
            case "PLAIN" or "CLEAR":
                return CryptographicOperations.FixedTimeEquals(pw, Encoding.UTF8.GetBytes(data));
            case "SSHA256" or "SSHA512":
            {
                int hashLen = scheme == "SSHA256" ? 32 : 64;
                if (!TryBase64(data, out var raw) || raw.Length <= hashLen) return false;
                var salted = new byte[pw.Length + raw.Length - hashLen];
                pw.CopyTo(salted, 0);
                raw.AsSpan(hashLen).CopyTo(salted.AsSpan(pw.Length));
                var hash = scheme == "SSHA256" ? SHA256.HashData(salted) : SHA512.HashData(salted);
                return CryptographicOperations.FixedTimeEquals(hash, raw.AsSpan(0, hashLen));
            }
            case "PBKDF2-SHA256":
            {
                if (!TryPbkdf2(data, out int iterations, out var salt, out var key)) return false;
                var got = Rfc2898DeriveBytes.Pbkdf2(pw, salt, iterations, HashAlgorithmName.SHA256, key.Length);
                return CryptographicOperations.FixedTimeEquals(got, key);
            }
            default:
                return false;
        }
    }

    /// <summary>A new "{PBKDF2-SHA256}..." or "{SSHA256}..." value for the password file.</summary>
    public static string Hash(string password, string scheme = "PBKDF2-SHA256", int iterations = DefaultPbkdf2Iterations)
    {
        var pw = Encoding.UTF8.GetBytes(password);
        var salt = RandomNumberGenerator.GetBytes(16);
        switch (scheme)
        {
            case "PBKDF2-SHA256":
                var key = Rfc2898DeriveBytes.Pbkdf2(pw, salt, iterations, HashAlgorithmName.SHA256, 32);
                return $"{{PBKDF2-SHA256}}{iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(key)}";
            case "SSHA256":
            case "SSHA512":
                var h = scheme == "SSHA256" ? SHA256.HashData([.. pw, .. salt]) : SHA512.HashData([.. pw, .. salt]);
                return $"{{{scheme}}}{Convert.ToBase64String([.. h, .. salt])}";
            case "PLAIN":
                return "{PLAIN}" + password;
            default:
                throw new ArgumentException($"unsupported scheme {scheme}", nameof(scheme));
        }
    }

    private static bool Split(string stored, out string scheme, out string data)
    {
        scheme = data = "";
        if (!stored.StartsWith('{')) return false;
        int close = stored.IndexOf('}');
        if (close < 2) return false;
        scheme = stored[1..close].ToUpperInvariant();
        data = stored[(close + 1)..];
        return true;
    }

    private static bool TryBase64(string s, out byte[] bytes)
    {
        bytes = new byte[(s.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(s, bytes, out int n)) return false;
        bytes = bytes[..n];
        return true;
    }

    private static bool TryPbkdf2(string data, out int iterations, out byte[] salt, out byte[] key)
    {
        salt = key = [];
        iterations = 0;
        var parts = data.Split('$');
        return parts.Length == 3
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out iterations)
            && iterations is >= 1 and <= 10_000_000
            && TryBase64(parts[1], out salt) && salt.Length >= 8
            && TryBase64(parts[2], out key) && key.Length >= 16;
    }
}
