// Postfix master.cf: the service table read by master(8) (man 5 master; Postfix master_ent.c).
// Eight columns per logical line plus command arguments, "-o" main.cf overrides and "{ }"
// argument grouping. The file is trusted (admin-written) but strictly validated with file:line.
using System.Globalization;

namespace Postfix.Core.Config;

public sealed class MasterCf
{
    private static readonly Dictionary<string, int> _wellKnownPorts = new(StringComparer.Ordinal)
    {
        ["smtp"] = 25,
        ["submission"] = 587,
        ["smtps"] = 465,
        ["submissions"] = 465,
        ["qmqp"] = 628,
        ["lmtp"] = 24,
    };

    private MasterCf(string? path, IReadOnlyList<MasterService> services)
    {
        MasterCfPath = path;
        Services = services;
    }

    /// <summary>Path of the master.cf that was read, or null for the embedded default.</summary>
    public string? MasterCfPath { get; }

    /// <summary>All services in file order (a later duplicate name+type replaces the earlier entry).</summary>
    public IReadOnlyList<MasterService> Services { get; }

    public IEnumerable<MasterService> InetServices => Services.Where(s => s.Type == MasterServiceType.Inet);

    /// <summary>Reads <paramref name="configDir"/>/master.cf when it exists, else the embedded
    /// <see cref="DefaultMasterCf.Text"/>.</summary>
    public static MasterCf Load(string? configDir)
    {
        if (configDir is not null)
        {
            string path = Path.Combine(Path.GetFullPath(configDir), "master.cf");
            string? text;
            try
            {
                text = File.Exists(path) ? File.ReadAllText(path) : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException($"cannot read: {e.Message}", path, 0, e);
            }

            if (text is not null)
            {
                return Parse(text, path);
            }
        }

        return Parse(DefaultMasterCf.Text, null);
    }

    /// <summary>Parses master.cf text; <paramref name="fileName"/> is used in messages and
    /// <see cref="MasterCfPath"/>.</summary>
    public static MasterCf Parse(string text, string? fileName = null)
    {
        var services = new List<MasterService>();
        var index = new Dictionary<(string, MasterServiceType), int>();
        foreach (var line in LogicalLineReader.Read(text, fileName))
        {
            var service = ParseService(line.Text, fileName, line.LineNumber);
            if (index.TryGetValue((service.Name, service.Type), out int existing))
            {
                services[existing] = service;
            }
            else
            {
                index[(service.Name, service.Type)] = services.Count;
                services.Add(service);
            }
        }

        return new MasterCf(fileName, services);
    }

    public MasterService? Find(string name, MasterServiceType type) =>
        Services.FirstOrDefault(s => s.Type == type && s.Name == name);

    /// <summary>Splits an inet service name: "port", "host:port", "[ipv6]:port", where port may be
    /// numeric or one of smtp, submission, smtps, submissions, qmqp, lmtp. Host is null when absent.</summary>
    public static bool TryParseInetListen(string serviceName, out string? host, out int port)
    {
        host = null;
        port = 0;
        string portText;
        if (serviceName.StartsWith('['))
        {
            int close = serviceName.IndexOf(']');
            if (close < 2 || close + 1 >= serviceName.Length || serviceName[close + 1] != ':')
            {
                return false;
            }

            host = serviceName[1..close];
            portText = serviceName[(close + 2)..];
        }
        else
        {
            int colon = serviceName.LastIndexOf(':');
            if (colon == 0)
            {
                return false;
            }

            if (colon > 0)
            {
                host = serviceName[..colon];
            }

            portText = serviceName[(colon + 1)..];
        }

        if (host is not null && (host.Length == 0 || host.Any(char.IsWhiteSpace)))
        {
            host = null;
            return false;
        }

        if (_wellKnownPorts.TryGetValue(portText, out port))
        {
            return true;
        }

        if (portText.Length is > 0 and <= 5
            && int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port)
            && port is >= 1 and <= 65535)
        {
            return true;
        }

        host = null;
        port = 0;
        return false;
    }

    private static MasterService ParseService(string text, string? file, int line)
    {
        var tokens = Tokenize(text, file, line);
        if (tokens.Count < 8)
        {
            throw new ConfigException(
                $"expected 8 fields (service type private unpriv chroot wakeup maxproc command), found {tokens.Count}: \"{text}\"",
                file, line);
        }

        string name = tokens[0].Text;
        var type = tokens[1].Text switch
        {
            "inet" => MasterServiceType.Inet,
            "unix" => MasterServiceType.Unix,
            "unix-dgram" => MasterServiceType.UnixDgram,
            "fifo" => MasterServiceType.Fifo,
            "pass" => MasterServiceType.Pass,
            _ => throw new ConfigException(
                $"bad service type \"{tokens[1].Text}\" for service \"{name}\" (specify inet, unix, unix-dgram, fifo or pass)",
                file, line),
        };

        if (type == MasterServiceType.Inet && !TryParseInetListen(name, out _, out _))
        {
            throw new ConfigException($"bad inet service name \"{name}\" (specify [host:]port)", file, line);
        }

        bool isPrivate = YesNo(tokens[2].Text, true, "private", file, line);
        var (wakeup, ifUsed) = Wakeup(tokens[5].Text, file, line);
        var (args, overrides) = Arguments(tokens, file, line);
        return new MasterService
        {
            Name = name,
            Type = type,
            Private = isPrivate && type != MasterServiceType.Inet,
            Unprivileged = YesNo(tokens[3].Text, true, "unpriv", file, line),
            Chroot = YesNo(tokens[4].Text, false, "chroot", file, line),
            Wakeup = wakeup,
            WakeupOnlyIfUsed = ifUsed,
            MaxProc = MaxProc(tokens[6].Text, file, line),
            Command = tokens[7].Text,
            Args = args,
            Overrides = overrides,
            LineNumber = line,
        };
    }

    private static (List<string> Args, Dictionary<string, string> Overrides) Arguments(
        List<Token> tokens, string? file, int line)
    {
        var args = new List<string>();
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 8; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (!token.Braced && token.Text == "-o")
            {
                if (++i >= tokens.Count)
                {
                    throw new ConfigException("missing name=value after -o", file, line);
                }

                AddOverride(tokens[i], overrides, file, line);
            }
            else if (!token.Braced && token.Text.StartsWith("-o", StringComparison.Ordinal))
            {
                AddOverride(new Token(token.Text[2..], false), overrides, file, line);
            }
            else
            {
                args.Add(token.Text);
            }
        }

        return (args, overrides);
    }

    private static void AddOverride(Token token, Dictionary<string, string> overrides, string? file, int line)
    {
        int eq = token.Text.IndexOf('=');
        string name = eq < 0 ? "" : token.Text[..eq];
        string value = eq < 0 ? "" : token.Text[(eq + 1)..];
        if (token.Braced)
        {
            name = name.Trim();
            value = value.Trim();
        }

        if (eq < 0 || !ParameterExpander.IsValidName(name))
        {
            throw new ConfigException($"bad -o override \"{token.Text}\" (specify -o name=value or -o {{ name = value }})", file, line);
        }

        overrides[name] = value;
    }

    private static bool YesNo(string text, bool defaultValue, string column, string? file, int line) => text switch
    {
        "-" => defaultValue,
        "y" => true,
        "n" => false,
        _ => throw new ConfigException($"bad {column} field \"{text}\" (specify y, n or -)", file, line),
    };

    private static (int Seconds, bool IfUsed) Wakeup(string text, string? file, int line)
    {
        if (text == "-")
        {
            return (0, false);
        }

        bool ifUsed = text.EndsWith('?');
        string digits = ifUsed ? text[..^1] : text;
        if (digits.Length is > 0 and <= 9
            && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds))
        {
            return (seconds, ifUsed);
        }

        throw new ConfigException($"bad wakeup field \"{text}\" (specify seconds, seconds?, or -)", file, line);
    }

    private static int? MaxProc(string text, string? file, int line)
    {
        if (text == "-")
        {
            return null;
        }

        if (text.Length is > 0 and <= 9 && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            return n;
        }

        throw new ConfigException($"bad maxproc field \"{text}\" (specify a number or -)", file, line);
    }

    // Whitespace-separated tokens; a token starting with "{" runs to the matching "}" and has its
    // braces and the whitespace just inside them removed (Postfix >= 3.0 grouping).
    private static List<Token> Tokenize(string text, string? file, int line)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                i++;
                continue;
            }

            if (text[i] == '{')
            {
                int level = 0, j = i;
                for (; j < text.Length; j++)
                {
                    if (text[j] == '{')
                    {
                        level++;
                    }
                    else if (text[j] == '}' && --level == 0)
                    {
                        break;
                    }
                }

                if (j >= text.Length)
                {
                    throw new ConfigException($"missing '}}' in \"{text[i..]}\"", file, line);
                }

                if (j + 1 < text.Length && !char.IsWhiteSpace(text[j + 1]))
                {
                    throw new ConfigException($"text after '}}' in \"{text[i..]}\"", file, line);
                }

                tokens.Add(new Token(text[(i + 1)..j].Trim(), true));
                i = j + 1;
                continue;
            }

            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            tokens.Add(new Token(text[start..i], false));
        }

        return tokens;
    }

    private readonly record struct Token(string Text, bool Braced);
}
