// postmap(1)'s command line: [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key]
// [type:]file ..., read as getopt(3) does (bundled flags, attached or separate arguments,
// options before the first table name). Input: the operator's arguments (trusted, validated).
namespace Postfix.Host.Commands;

internal sealed class PostmapOptions
{
    public string? ConfigDir { get; set; }
    public bool NoFold { get; private set; }            // -f
    public bool Incremental { get; private set; }       // -i
    public bool Replace { get; private set; }           // -r
    public bool IgnoreDuplicates { get; private set; }  // -w
    public bool Sequence { get; private set; }          // -s
    public bool DefaultMode { get; private set; }       // -p: 0644 instead of the source's permissions
    public bool NoUtf8 { get; private set; }            // -u
    public int Verbose { get; private set; }            // -v
    public string? Query { get; private set; }          // -q
    public string? Delete { get; private set; }         // -d
    public List<string> Maps { get; } = [];

    public static PostmapOptions Parse(string[] args, string? configDir)
    {
        var o = new PostmapOptions { ConfigDir = configDir };
        int i = Getopt.Parse(args, "cdq", (c, value) =>
        {
            switch (c)
            {
                case 'f': o.NoFold = true; break;
                case 'i': o.Incremental = true; break;
                case 'r': o.Replace = true; break;
                case 'w': o.IgnoreDuplicates = true; break;
                case 's': o.Sequence = true; break;
                case 'p': o.DefaultMode = true; break;
                case 'u': o.NoUtf8 = true; break;
                case 'v': o.Verbose++; break;
                case 'N' or 'n' or 'o' or 'U': break; // no terminating nulls in our format; no privileges to keep; -U only matters with -b/-h
                case 'b' or 'h' or 'm' or 'F':
                    throw new UsageException($"postmap: option -{c} is not supported here (message body/header query modes and -F base64 files are not implemented)");
                case 'c': o.ConfigDir = value; break;
                case 'd': o.Delete = value; break;
                case 'q': o.Query = value; break;
                default:
                    throw new UsageException($"postmap: invalid option -- '{c}'");
            }
        }, "postmap");
        o.Maps.AddRange(args[i..]);
        if ((o.Query is not null ? 1 : 0) + (o.Delete is not null ? 1 : 0) + (o.Sequence ? 1 : 0) > 1)
            throw new UsageException("postmap: specify only one of -s or -q or -d");
        if (o.Maps.Count == 0) throw new UsageException("postmap: missing [type:]file argument");
        return o;
    }
}
