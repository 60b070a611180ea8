// postmap(1): builds hash: tables from their source files (FILE -> FILE.db, our indexed format,
// written atomically), queries any table type (-q KEY, -q - for keys on stdin, printing
// "key<TAB>value"), lists a table (-s), deletes keys (-d) and adds entries from stdin (-i).
// A plain file name means $default_database_type:file. Duplicates warn and keep the first (-r
// replaces, -w ignores), keys fold to lowercase unless -f, as Postfix's postmap does. Messages
// and exit codes follow Postfix: "postmap: fatal: ..." exit 1, -q not found exit 1; usage errors
// exit 2 (our launcher's convention). Progress goes to stderr every 100,000 records when stderr is
// a terminal or with -v. Input: operator arguments and the admin's files (trusted); stdin keys
// are bounded per line.
using System.Text;
using Postfix.Core.Config;
using Postfix.Core.Tables;

namespace Postfix.Host.Commands;

public static class PostmapCommand
{
    /// <summary>Longest key line read from stdin with "-q -" or "-d -".</summary>
    private const int MaxStdinLine = 1 << 20;

    public static int Run(string[] args, string? configDir, Stream stdin, TextWriter stdout, TextWriter stderr)
    {
        var o = PostmapOptions.Parse(args, configDir);
        try
        {
            // postmap -c DIR: redis: tables take their default hosts from that main.cf.
            if (o.ConfigDir != configDir) Cluster.RedisTable.Register(o.ConfigDir);
            var main = MainCf.Load(o.ConfigDir);
            var fromMain = TableOptions.FromMainCf(main);
            var options = fromMain with
            {
                FoldCase = !o.NoFold,
                Utf8 = fromMain.Utf8 && !o.NoUtf8,
                Warn = message => stderr.WriteLine($"postmap: warning: {message}"),
            };
            var maps = o.Maps.Select(m => Split(m, main.Get("default_database_type"))).ToList();
            if (o.Query is { } key) return key == "-" ? QueryStdin(maps, options, stdin, stdout) : Query(maps, options, key, stdout);
            if (o.Sequence) return List(maps, options, stdout);
            if (o.Delete is { } d) return Delete(maps, options, d == "-" ? ReadKeys(stdin).ToList() : [d]);
            bool progress = o.Verbose > 0 || (ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected);
            foreach (var (type, file) in maps)
                Build(type, file, o, options, stdin, progress ? stderr : null, o.Verbose > 0);
            return 0;
        }
        catch (Exception e) when (e is ConfigException or TableLookupException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"postmap: fatal: {e.Message}");
            return 1;
        }
    }

    private static (string Type, string File) Split(string map, string defaultType)
    {
        int colon = map.IndexOf(':');
        var (type, file) = colon <= 0 ? (defaultType, map) : (map[..colon], map[(colon + 1)..]);
        if (!LookupTables.SupportedTypes.Contains(type)) throw new ConfigException($"unsupported dictionary type: {type}");
        return (type, file);
    }

    private static ILookupTable Open((string Type, string File) map, TableOptions options) =>
        LookupTables.Open($"{map.Type}:{map.File}", null, options);

    private static int Query(List<(string Type, string File)> maps, TableOptions options, string key, TextWriter stdout)
    {
        foreach (var map in maps)
        {
            if (Open(map, options).Lookup(key) is { } value)
            {
                stdout.WriteLine(value);
                return 0;
            }
        }
        return 1;
    }

    private static int QueryStdin(List<(string Type, string File)> maps, TableOptions options, Stream stdin, TextWriter stdout)
    {
        var tables = maps.Select(m => Open(m, options)).ToList();
        bool found = false;
        foreach (var key in ReadKeys(stdin))
        {
            foreach (var table in tables)
            {
                if (table.Lookup(key) is not { } value) continue;
                stdout.Write(key);
                stdout.Write('\t');
                stdout.WriteLine(value);
                found = true;
                break;
            }
        }
        return found ? 0 : 1;
    }

    private static int List(List<(string Type, string File)> maps, TableOptions options, TextWriter stdout)
    {
        foreach (var map in maps)
        {
            if (Open(map, options) is not HashTable table)
                throw new ConfigException($"table {map.Type}:{map.File}: sequence operation is not supported");
            foreach (var (key, value) in table.Entries()) stdout.WriteLine($"{key}\t{value}");
        }
        return 0;
    }

    private static int Delete(List<(string Type, string File)> maps, TableOptions options, List<string> keys)
    {
        bool found = false;
        foreach (var (type, file) in maps)
        {
            if (type != "hash") throw new ConfigException($"unsupported dictionary type: {type} does not support deletion");
            var existing = HashTable.Open(file, options with { FoldCase = false });
            var doomed = keys.Select(options.FoldKey).ToHashSet(StringComparer.Ordinal);
            var builder = new HashTableBuilder(KeyFoldMode.None);
            foreach (var (key, value) in existing.Entries())
            {
                if (doomed.Contains(key)) { found = true; continue; }
                builder.Add(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));
            }
            builder.WriteAtomically(file + ".db", ExistingMode(file + ".db"));
        }
        return found ? 0 : 1;
    }

    private static void Build(string type, string file, PostmapOptions o, TableOptions options, Stream stdin, TextWriter? progress, bool verbose)
    {
        if (type == "redis")
            throw new ConfigException($"redis:{file}: the table's data lives in the store; change it there (redis-cli SET, HSET, SADD); postmap -q queries it");
        if (type != "hash")
            throw new ConfigException($"unsupported dictionary type: {type} does not support bulk-mode creation.");
        var dbPath = file + ".db";
        var policy = o.Replace ? DuplicatePolicy.Replace : o.IgnoreDuplicates ? DuplicatePolicy.Ignore : DuplicatePolicy.Warn;
        var builder = new HashTableBuilder(options.Fold, policy);
        byte[] text;
        string sourceName = file;
        if (o.Incremental)
        {
            if (File.Exists(dbPath))
            {
                foreach (var (key, value) in HashTable.Open(file, options with { FoldCase = false, Warn = null }).Entries())
                    builder.Add(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));
            }
            using var buffer = new MemoryStream();
            stdin.CopyTo(buffer);
            text = buffer.ToArray();
            sourceName = "-";
        }
        else
        {
            try { text = File.ReadAllBytes(file); }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new ConfigException($"open {file}: No such file or directory");
            }
        }
        Action<int>? report = progress is null ? null : n => progress.WriteLine($"postmap: {file}: {n} records");
        int records = TableSource.Load(text, sourceName, dbPath, TableSource.Flavor.Postmap, builder, options.Fold, options.Utf8, options.Warn, report);
        UnixFileMode? mode = o.DefaultMode ? DefaultMode : ExistingMode(dbPath) ?? SourceMode(file);
        builder.WriteAtomically(dbPath, mode);
        if (verbose) progress?.WriteLine($"postmap: {dbPath}: {builder.Count} entries from {records} records");
    }

    private const UnixFileMode DefaultMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    // New tables get the source's group and other read permissions (postmap(1)).
    private static UnixFileMode? SourceMode(string file)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(file)) return null;
        var source = File.GetUnixFileMode(file);
        return UnixFileMode.UserRead | UnixFileMode.UserWrite | (source & (UnixFileMode.GroupRead | UnixFileMode.OtherRead));
    }

    private static UnixFileMode? ExistingMode(string dbPath) =>
        OperatingSystem.IsWindows() || !File.Exists(dbPath) ? null : File.GetUnixFileMode(dbPath);

    // Lines of stdin without the newline (a CR stays part of the key, as in Postfix).
    private static IEnumerable<string> ReadKeys(Stream stdin)
    {
        var line = new MemoryStream();
        var buffer = new byte[8192];
        int n;
        while ((n = stdin.Read(buffer, 0, buffer.Length)) > 0)
        {
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                line.Write(buffer, start, i - start);
                start = i + 1;
                yield return Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length); // an empty line is an empty key, as in Postfix
                line.SetLength(0);
            }
            line.Write(buffer, start, n - start);
            if (line.Length > MaxStdinLine) throw new ConfigException($"stdin: key longer than {MaxStdinLine} bytes");
        }
        if (line.Length > 0) yield return Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length);
    }
}
