// postconf(1) -e / -X / -#: edits main.cf in place, as Postfix's
// postconf_edit.c does: comments and blank lines pass through; a setting of a
// named parameter (its first line and its continuation lines) is replaced by
// "name = value" (-e), dropped (-X) or commented out (-#); -e appends settings
// not found. The result is loaded with MainCf (next to a copy of master.cf, so
// parameters used only there stay legal) before it replaces main.cf: an
// unknown parameter or a syntax error leaves main.cf untouched. The file is
// written to main.cf.tmp, held under an exclusive lock so two editors never
// interleave, and renamed over main.cf. Command-line input is the operator's.
using System.Text;
using Postfix.Core.Config;

namespace Postfix.Host.Commands;

public enum PostconfEditMode { Set, Remove, CommentOut }

public static class PostconfEdit
{
    public static int Run(string? configDir, PostconfEditMode mode, IReadOnlyList<string> args, TextWriter stderr)
    {
        if (configDir is null)
        {
            stderr.WriteLine("postconf: fatal: no configuration directory to edit (use -c config_dir or MAIL_CONFIG)");
            return 1;
        }
        if (args.Count == 0)
        {
            stderr.WriteLine(mode == PostconfEditMode.Set
                ? "postconf: fatal: -e requires name=value arguments"
                : "postconf: fatal: -X or -# requires parameter names");
            return 1;
        }
        // Insertion order is the order new settings are appended in.
        var edits = new List<(string Name, string? Value)>();
        foreach (var arg in args)
        {
            if (arg.Contains('\n')) return Fatal(stderr, "-e, -X, or -# accepts no multi-line input");
            var a = arg.TrimStart();
            if (a.StartsWith('#')) return Fatal(stderr, "-e, -X, or -# accepts no comment input");
            string name;
            string? value = null;
            if (mode == PostconfEditMode.Set)
            {
                int eq = a.IndexOf('=');
                if (eq < 0) return Fatal(stderr, $"missing '=' after attribute name: \"{arg}\"");
                name = a[..eq].Trim();
                value = a[(eq + 1)..].Trim();
            }
            else
            {
                if (a.Contains('=')) return Fatal(stderr, "-X or -# requires parameter names without value");
                name = a.Trim();
            }
            if (!IsParameterName(name)) return Fatal(stderr, $"bad parameter name \"{name}\" (use only A-Z, a-z, 0-9 and _)");
            edits.RemoveAll(e => e.Name == name);
            edits.Add((name, value));
        }

        var dir = Path.GetFullPath(configDir);
        var path = Path.Combine(dir, "main.cf");
        var tmpPath = path + ".tmp";
        FileStream tmp;
        try
        {
            tmp = new FileStream(tmpPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) { return Fatal(stderr, $"open {tmpPath}: {e.Message}"); }
        catch (UnauthorizedAccessException e) { return Fatal(stderr, $"open {tmpPath}: {e.Message}"); }
        bool renamed = false;
        try
        {
            string old;
            try { old = File.Exists(path) ? File.ReadAllText(path) : ""; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Fatal(stderr, $"open {path} for reading: {e.Message}"); }

            var edited = Apply(old, mode, edits, path, stderr);
            if (Validate(dir, edited) is { } error) return Fatal(stderr, $"{error}; {path} not changed");

            var bytes = new UTF8Encoding(false).GetBytes(edited);
            tmp.SetLength(0);
            tmp.Write(bytes);
            tmp.Flush(flushToDisk: true);
            File.Move(tmpPath, path, overwrite: true);
            renamed = true;
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fatal(stderr, $"update {path}: {e.Message}");
        }
        finally
        {
            tmp.Dispose();
            if (!renamed) try { File.Delete(tmpPath); } catch (IOException) { }
        }
    }

    /// <summary>The edited text; lines keep their own line ends, new ones get "\n".</summary>
    private static string Apply(string text, PostconfEditMode mode, List<(string Name, string? Value)> edits, string path, TextWriter stderr)
    {
        var wanted = edits.ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal);
        var found = new Dictionary<string, int>(StringComparer.Ordinal);
        var o = new StringBuilder(text.Length + 128);
        bool interesting = false;
        int pos = 0;
        while (pos < text.Length)
        {
            int nl = text.IndexOf('\n', pos);
            int end = nl < 0 ? text.Length : nl + 1;
            var line = text.AsSpan(pos, end - pos);
            pos = end;
            var content = line.TrimStart();
            if (content.IsEmpty || content[0] == '#' || content.IsWhiteSpace())
            {
                o.Append(line); // comments and blank lines always pass through
                continue;
            }
            if (content.Length != line.Length)
            {
                // A continuation line belongs to the logical line above it.
                if (!interesting) o.Append(line);
                else if (mode == PostconfEditMode.CommentOut) o.Append('#').Append(line);
                continue;
            }
            int nameEnd = line.IndexOfAny(" \t\r\n=");
            var key = (nameEnd < 0 ? line : line[..nameEnd]).ToString();
            interesting = wanted.TryGetValue(key, out var value);
            if (!interesting) { o.Append(line); continue; }
            found[key] = found.GetValueOrDefault(key) + 1;
            if (found[key] == 2) stderr.WriteLine($"postconf: warning: {path}: multiple entries for \"{key}\"");
            if (mode == PostconfEditMode.Set) o.Append(Setting(key, value!)).Append('\n');
            else if (mode == PostconfEditMode.CommentOut) o.Append('#').Append(line);
            if (nl < 0 && mode == PostconfEditMode.CommentOut) o.Append('\n');
        }
        if (mode == PostconfEditMode.Set)
        {
            foreach (var (name, value) in edits)
            {
                if (found.ContainsKey(name)) continue;
                if (o.Length > 0 && o[^1] != '\n') o.Append('\n');
                o.Append(Setting(name, value!)).Append('\n');
            }
        }
        return o.ToString();
    }

    private static string Setting(string name, string value) => value.Length == 0 ? $"{name} =" : $"{name} = {value}";

    /// <summary>Loads the edited main.cf as the master would; null when it is valid.</summary>
    private static string? Validate(string configDir, string mainCf)
    {
        var probe = Directory.CreateTempSubdirectory("postconf-edit-");
        try
        {
            File.WriteAllText(Path.Combine(probe.FullName, "main.cf"), mainCf);
            var master = Path.Combine(configDir, "master.cf");
            if (File.Exists(master)) File.Copy(master, Path.Combine(probe.FullName, "master.cf"));
            MainCf.Load(probe.FullName);
            return null;
        }
        catch (ConfigException e)
        {
            // The probe's path means nothing to the operator: report the problem alone.
            return e.Detail;
        }
        finally
        {
            try { probe.Delete(recursive: true); } catch (IOException) { }
        }
    }

    private static bool IsParameterName(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static int Fatal(TextWriter stderr, string message)
    {
        stderr.WriteLine($"postconf: fatal: {message}");
        return 1;
    }
}
