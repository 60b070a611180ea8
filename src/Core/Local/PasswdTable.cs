// The UNIX password database as local(8) reads it (Postfix mypwd.c over
// getpwnam/getpwuid), from a passwd(5)-format file: local_passwd_file (OUR
// extension, default /etc/passwd) so tests can use temporary users and homes.
// Also the "unix:passwd.byname" table of local_recipient_maps. The file is
// re-read when its size or modification time changes. Its content is
// trusted system data, but malformed lines are skipped, not fatal, and line
// and file sizes are bounded.
namespace Postfix.Core.Local;

public sealed class PasswdTable
{
    private const long MaxFileSize = 64L << 20;
    private readonly string _path;
    private readonly object _reload = new();
    private Snapshot _snapshot = new(DateTime.MinValue, -1, new(StringComparer.Ordinal), new());

    public PasswdTable(string path) => _path = path;

    public string Path => _path;

    /// <summary>getpwnam(): the first record with this exact name, or null.</summary>
    public PasswdEntry? ByName(string name) => Current().Names.GetValueOrDefault(name);

    /// <summary>getpwuid(): the first record with this uid, or null.</summary>
    public PasswdEntry? ByUid(int uid) => Current().Uids.GetValueOrDefault(uid);

    private Snapshot Current()
    {
        var snap = Volatile.Read(ref _snapshot);
        DateTime mtime;
        long size;
        try
        {
            var info = new FileInfo(_path);
            if (!info.Exists) return snap.Size == -2 ? snap : Swap(new Snapshot(DateTime.MinValue, -2, new(StringComparer.Ordinal), new()));
            mtime = info.LastWriteTimeUtc;
            size = info.Length;
        }
        catch (IOException) { return snap; }
        if (mtime == snap.MTime && size == snap.Size) return snap;
        lock (_reload)
        {
            snap = _snapshot;
            if (mtime == snap.MTime && size == snap.Size) return snap;
            return Swap(Load(mtime, size));
        }
    }

    private Snapshot Swap(Snapshot s)
    {
        Volatile.Write(ref _snapshot, s);
        return s;
    }

    private Snapshot Load(DateTime mtime, long size)
    {
        var names = new Dictionary<string, PasswdEntry>(StringComparer.Ordinal);
        var uids = new Dictionary<int, PasswdEntry>();
        if (size > MaxFileSize) return new Snapshot(mtime, size, names, uids);
        string[] lines;
        try { lines = File.ReadAllLines(_path); }
        catch (IOException) { return _snapshot; }
        catch (UnauthorizedAccessException) { return _snapshot; }
        foreach (var line in lines)
        {
            if (Parse(line) is not { } e) continue;
            names.TryAdd(e.Name, e);
            uids.TryAdd(e.Uid, e);
        }
        return new Snapshot(mtime, size, names, uids);
    }

    /// <summary>"name:password:uid:gid:gecos:home:shell", or null when malformed.</summary>
    public static PasswdEntry? Parse(string line)
    {
        if (line.Length == 0 || line.Length > 4096 || line[0] == '#') return null;
        var f = line.Split(':');
        if (f.Length != 7 || f[0].Length == 0) return null;
        if (!int.TryParse(f[2], out int uid) || !int.TryParse(f[3], out int gid) || uid < 0 || gid < 0) return null;
        return new PasswdEntry(f[0], uid, gid, f[5], f[6]);
    }

    private sealed record Snapshot(DateTime MTime, long Size, Dictionary<string, PasswdEntry> Names, Dictionary<int, PasswdEntry> Uids);
}
