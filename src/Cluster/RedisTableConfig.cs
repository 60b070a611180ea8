// The configuration file of a redis: table (see RedisTable for the parameters), read the way
// Postfix's cfg_parser reads mysql_table(5) and ldap_table(5) files: "name = value" lines,
// "#" comments, a line that starts with white space continues the previous one. Unknown names
// and bad values are ConfigExceptions naming file:line. Lines are split as main.cf's are
// (LogicalLineReader). Input: the admin's file (trusted).
using System.Globalization;
using System.Text;
using Postfix.Core.Config;

namespace Postfix.Cluster;

public enum RedisQueryType : byte { Get, HGet, SIsMember }

/// <summary>main.cf's values a redis: table falls back to (cluster_store, cluster_store_timeout).</summary>
public sealed record RedisTableDefaults(IReadOnlyList<string> Hosts, TimeSpan Timeout)
{
    public static RedisTableDefaults FromMainCf(MainCf main) => new(main.GetList("cluster_store"), ClusterStore.ParseTimeout(main));
}

public sealed record RedisTableConfig
{
    /// <summary>Longest configuration file read (it holds a handful of lines).</summary>
    private const int MaxFileSize = 64 * 1024;

    private static readonly string[] Known = ["hosts", "key_format", "query_type", "hash_name", "set_name", "result_format", "cache_ttl", "cache_size", "timeout"];

    public required string Path { get; init; }
    public required IReadOnlyList<string> Hosts { get; init; }
    public required RedisKeyFormat KeyFormat { get; init; }
    public RedisQueryType QueryType { get; init; }
    public string Container { get; init; } = "";            // hash_name (hget) or set_name (sismember)
    public byte[] Result { get; init; } = "OK"u8.ToArray(); // result_format (sismember)
    public TimeSpan CacheTtl { get; init; }
    public int CacheSize { get; init; }
    public TimeSpan Timeout { get; init; }

    public static RedisTableConfig Load(string path, Func<RedisTableDefaults> defaults)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new ConfigException($"redis:{path}: open {path}: No such file or directory");
            if (info.Length > MaxFileSize) throw new ConfigException($"redis:{path}: larger than {MaxFileSize} bytes: not a redis: table configuration");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"redis:{path}: open {path}: {e.Message}");
        }
        return Parse(Encoding.UTF8.GetString(bytes), path, defaults);
    }

    /// <param name="defaults">main.cf's values, asked for only when the file leaves hosts or timeout unset.</param>
    public static RedisTableConfig Parse(string text, string path, Func<RedisTableDefaults> defaults)
    {
        var fallback = new Lazy<RedisTableDefaults>(defaults);
        var values = new Dictionary<string, (string Value, int Line)>(StringComparer.Ordinal);
        foreach (var (line, number) in LogicalLineReader.Read(text, path))
        {
            int eq = line.IndexOf('=');
            if (eq <= 0) throw new ConfigException($"missing '=' after \"{line}\"", path, number);
            var name = line[..eq].Trim();
            if (Array.IndexOf(Known, name) < 0)
                throw new ConfigException($"unknown parameter \"{name}\" (known: {string.Join(", ", Known)})", path, number);
            if (!values.TryAdd(name, (line[(eq + 1)..].Trim(), number)))
                throw new ConfigException($"parameter \"{name}\" given twice", path, number);
        }

        string Get(string n, string fallback) => values.TryGetValue(n, out var v) ? v.Value : fallback;
        ConfigException Bad(string n, string why) => new($"{n} = {values[n].Value}: {why}", path, values[n].Line);

        IReadOnlyList<string> hosts = values.ContainsKey("hosts")
            ? Get("hosts", "").Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
            : fallback.Value.Hosts;
        if (hosts.Count == 0)
            throw values.ContainsKey("hosts") ? Bad("hosts", "no host:port given")
                : new ConfigException($"redis:{path}: no hosts = host:port, and main.cf's cluster_store is empty");

        var type = Get("query_type", "get").ToLowerInvariant() switch
        {
            "get" => RedisQueryType.Get,
            "hget" => RedisQueryType.HGet,
            "sismember" => RedisQueryType.SIsMember,
            _ => throw Bad("query_type", "expected get, hget or sismember"),
        };
        string container = "";
        if (type == RedisQueryType.HGet)
        {
            container = Get("hash_name", "");
            if (container.Length == 0) throw new ConfigException($"redis:{path}: query_type = hget needs hash_name");
        }
        else if (values.ContainsKey("hash_name")) throw Bad("hash_name", "applies to query_type = hget only");
        if (type == RedisQueryType.SIsMember)
        {
            container = Get("set_name", "");
            if (container.Length == 0) throw new ConfigException($"redis:{path}: query_type = sismember needs set_name");
        }
        else if (values.ContainsKey("set_name")) throw Bad("set_name", "applies to query_type = sismember only");
        if (type != RedisQueryType.SIsMember && values.ContainsKey("result_format"))
            throw Bad("result_format", "applies to query_type = sismember only (get and hget answer the stored value)");

        RedisKeyFormat format;
        try { format = RedisKeyFormat.Parse(Get("key_format", "%s")); }
        catch (FormatException e) { throw values.ContainsKey("key_format") ? Bad("key_format", e.Message) : new ConfigException(e.Message, path); }

        TimeSpan ttl = TimeSpan.FromSeconds(5), timeout = TimeSpan.Zero;
        if (values.ContainsKey("cache_ttl") && !TryParseTime(Get("cache_ttl", ""), allowZero: true, out ttl))
            throw Bad("cache_ttl", "expected a time (5s, 500ms, 1m; 0 = no cache)");
        if (values.ContainsKey("timeout") && !TryParseTime(Get("timeout", ""), allowZero: false, out timeout))
            throw Bad("timeout", "expected a positive time (250ms, 1s)");
        if (!values.ContainsKey("timeout")) timeout = fallback.Value.Timeout;
        int size = 10000;
        if (values.ContainsKey("cache_size") && (!int.TryParse(Get("cache_size", ""), NumberStyles.None, CultureInfo.InvariantCulture, out size) || size > 10_000_000))
            throw Bad("cache_size", "expected a number of entries (0 to 10000000)");

        return new RedisTableConfig
        {
            Path = path,
            Hosts = hosts,
            KeyFormat = format,
            QueryType = type,
            Container = container,
            Result = Encoding.UTF8.GetBytes(Get("result_format", "OK")),
            CacheTtl = ttl,
            CacheSize = size,
            Timeout = timeout,
        };
    }

    /// <summary>"250ms", or a Postfix time ("5s", "1m", "1h", "1d"; a bare number is seconds).</summary>
    internal static bool TryParseTime(string text, bool allowZero, out TimeSpan result)
    {
        result = TimeSpan.Zero;
        var v = text.Trim();
        long scale = 1000;
        if (v.EndsWith("ms", StringComparison.Ordinal)) { scale = 1; v = v[..^2]; }
        else if (v.Length > 0 && !char.IsAsciiDigit(v[^1]))
        {
            scale = v[^1] switch { 's' => 1000, 'm' => 60_000, 'h' => 3_600_000, 'd' => 86_400_000, _ => -1 };
            v = v[..^1];
        }
        if (scale < 0 || v.Length is 0 or > 9 || !long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long n)) return false;
        if (n == 0 && !allowZero) return false;
        result = TimeSpan.FromMilliseconds(n * scale);
        return true;
    }
}
