// postconf(1): print main.cf parameters as "name = value". No flags: every
// parameter with its effective (expanded) value; -n: only those set in main.cf;
// -d: defaults; -h: the value alone, without "name = "; values are shown as written ($name unexpanded) unless -x
// expands them, as in Postfix; names restrict the output. Unknown names are
// an error, as in Postfix ("postconf: warning: foo: unknown parameter").
// -e name=value (or just name=value), -X name, -# name: edit main.cf (PostconfEdit).
using Postfix.Core.Config;

namespace Postfix.Host.Commands;

public static class PostconfCommand
{
    public static int Run(string[] args, string? configDir, TextWriter stdout, TextWriter stderr)
    {
        bool nonDefault = false, defaults = false, expand = false, valueOnly = false;
        PostconfEditMode? edit = null;
        var names = new List<string>();
        // getopt-style bundles: -nx = -n -x.
        args = args.SelectMany(a => a.Length > 2 && a[0] == '-' && a.Skip(1).All(c => "ndhxeX#".Contains(c))
            ? a.Skip(1).Select(c => "-" + c) : [a]).ToArray();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-c": if (++i >= args.Length) throw new UsageException("postconf: -c requires a directory"); configDir = args[i]; break;
                case "-n": nonDefault = true; break;
                case "-d": defaults = true; break;
                case "-x": expand = true; break;
                case "-h": valueOnly = true; break;
                case "-e": edit = PostconfEditMode.Set; break;
                case "-X": edit = PostconfEditMode.Remove; break;
                case "-#": edit = PostconfEditMode.CommentOut; break;
                default:
                    if (args[i].StartsWith('-')) throw new UsageException($"postconf: invalid option '{args[i]}'");
                    names.Add(args[i]);
                    break;
            }
        }
        // Postfix 2.8 and later: a name=value argument implies -e.
        if (edit is null && names.Any(n => n.Contains('='))) edit = PostconfEditMode.Set;
        if (edit is { } mode)
        {
            if (nonDefault || defaults) throw new UsageException("postconf: -e, -X and -# do not combine with -n or -d");
            return PostconfEdit.Run(configDir, mode, names, stderr);
        }
        MainCf main;
        try { main = MainCf.Load(configDir); }
        catch (ConfigException e) { stderr.WriteLine($"postconf: fatal: {e.Message}"); return 1; }

        IEnumerable<(string Name, string Value)> rows = defaults ? main.Defaults : nonDefault ? main.NonDefault : main.AllRaw;
        if (expand)
        {
            // -dx expands against the built-in defaults only; otherwise against main.cf.
            var against = defaults ? MainCf.Load(null) : main;
            rows = rows.Select(r => (r.Name, against.IsDefined(r.Name) ? against.Get(r.Name) : r.Value)).ToList();
        }
        if (names.Count > 0)
        {
            var all = rows.ToDictionary(r => r.Name, r => r.Value);
            int rc = 0;
            foreach (var n in names)
            {
                if (all.TryGetValue(n, out var v)) stdout.WriteLine(valueOnly ? v : Format(n, v));
                else if (!nonDefault) { stderr.WriteLine($"postconf: warning: {n}: unknown parameter"); rc = 1; }
            }
            return rc;
        }
        foreach (var (n, v) in rows) stdout.WriteLine(valueOnly ? v : Format(n, v));
        return 0;
    }

    private static string Format(string name, string value) => value.Length == 0 ? $"{name} =" : $"{name} = {value}";
}
