// postalias(1) and newaliases(1): compile aliases(5) files ("name: value,
// value" with continuation lines and # comments) into the hash: format that
// local(8) reads through alias_maps. newaliases compiles every table of
// alias_database. -q KEY queries like postalias -q. The alias file is
// trusted configuration but read defensively: a line without "name:" is
// reported with file and line and skipped, as postalias does; duplicates keep
// the first entry with a warning. The .db is replaced atomically.
using Postfix.Core.Config;
using Postfix.Core.Tables;

namespace Postfix.Host.Commands;

public static class PostaliasCommand
{
    public static int Run(string program, string[] args, string? configDir, TextWriter stdout, TextWriter stderr)
    {
        string? query = null;
        bool noFold = false;
        var files = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-c": if (++i >= args.Length) throw new UsageException($"{program}: -c requires a directory"); configDir = args[i]; break;
                case "-q": if (++i >= args.Length) throw new UsageException($"{program}: -q requires a key"); query = args[i]; break;
                case "-f": noFold = true; break;
                case "-v" or "-N" or "-n" or "-w" or "-r": break;
                default:
                    if (args[i].StartsWith('-')) throw new UsageException($"{program}: invalid option '{args[i]}'");
                    files.Add(args[i]);
                    break;
            }
        }
        try
        {
            var main = MainCf.Load(configDir);
            var options = TableOptions.FromMainCf(main) with
            {
                FoldCase = !noFold,
                Warn = m => stderr.WriteLine($"{program}: warning: {m}"),
            };
            if (program == "newaliases")
            {
                if (files.Count > 0) throw new UsageException("newaliases: takes no file arguments (it compiles alias_database)");
                files.AddRange(LookupTables.SplitList(main.Get("alias_database")));
                if (files.Count == 0)
                {
                    stderr.WriteLine("newaliases: alias_database is empty: nothing to do");
                    return 0;
                }
            }
            if (files.Count == 0) throw new UsageException($"{program}: give one or more alias files");
            var maps = files.Select(f => f.Contains(':') ? f : $"{main.Get("default_database_type")}:{f}").ToList();
            if (query is not null)
            {
                foreach (var m in maps)
                    if (LookupTables.Open(m, null, options).Lookup(query) is { } v) { stdout.WriteLine(v); return 0; }
                return 1;
            }
            foreach (var m in maps)
            {
                int colon = m.IndexOf(':');
                var (type, file) = (m[..colon], m[(colon + 1)..]);
                if (type != "hash") throw new ConfigException($"unsupported dictionary type for {program}: {type} (use hash)");
                AliasTableSource.Compile(file, options);
            }
            return 0;
        }
        catch (Exception e) when (e is ConfigException or TableLookupException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{program}: fatal: {e.Message}");
            return 1;
        }
    }
}
