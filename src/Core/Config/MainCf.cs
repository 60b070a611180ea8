// Postfix main.cf: built-in defaults overlaid with "name = value" settings from the file, with
// $name expansion and typed accessors (man 5 postconf; Postfix mail_conf.c / postconf(1)).
// main.cf is trusted (admin-written) but still strictly validated: errors name file:line.
namespace Postfix.Core.Config;

public sealed class MainCf
{
    private readonly IReadOnlyDictionary<string, string> _defaults;
    private readonly Dictionary<string, Setting> _explicit;
    private readonly Dictionary<string, string> _values;
    private readonly IReadOnlySet<string> _externalReferences;
    private readonly ParameterExpander _expander;

    private MainCf(
        string? configDirectory,
        string? mainCfPath,
        IReadOnlyDictionary<string, string> defaults,
        Dictionary<string, Setting> explicitSettings,
        IReadOnlySet<string> externalReferences)
    {
        ConfigDirectory = configDirectory;
        MainCfPath = mainCfPath;
        _defaults = defaults;
        _explicit = explicitSettings;
        _externalReferences = externalReferences;

        _values = new Dictionary<string, string>(defaults, StringComparer.Ordinal);
        foreach (var (name, setting) in explicitSettings)
        {
            _values[name] = setting.Value;
        }

        // Postfix computes the mydomain default from the configured myhostname (check_mydomain()).
        if (!_explicit.ContainsKey("mydomain") && _explicit.ContainsKey("myhostname"))
        {
            var probe = new ParameterExpander(_values, SourceOf);
            _values["mydomain"] = ParameterDefaults.DomainOf(probe.ExpandParameter("myhostname"));
        }

        _expander = new ParameterExpander(_values, SourceOf);
        RejectUnknownParameters();
        foreach (var name in _values.Keys.Order(StringComparer.Ordinal))
        {
            _expander.ExpandParameter(name);
        }
    }

    /// <summary>Absolute path of the configuration directory, or null when running on embedded defaults only.</summary>
    public string? ConfigDirectory { get; }

    /// <summary>Path of the main.cf file that was read, or null when there was none.</summary>
    public string? MainCfPath { get; }

    /// <summary>Every defined parameter with its expanded value, sorted by name (postconf).</summary>
    public IEnumerable<(string Name, string Value)> All =>
        _values.Keys.Order(StringComparer.Ordinal).Select(n => (n, _expander.ExpandParameter(n)));

    /// <summary>Every defined parameter with its raw value as written, sorted by name (postconf without -x).</summary>
    public IEnumerable<(string Name, string Value)> AllRaw =>
        _values.Keys.Order(StringComparer.Ordinal).Select(n => (n, _values[n]));

    /// <summary>Parameters explicitly set in main.cf (or by overrides), raw, sorted by name (postconf -n).</summary>
    public IEnumerable<(string Name, string Value)> NonDefault =>
        _explicit.Keys.Order(StringComparer.Ordinal).Select(n => (n, _explicit[n].Value));

    /// <summary>Built-in defaults, raw, sorted by name (postconf -d).</summary>
    public IEnumerable<(string Name, string Value)> Defaults =>
        _defaults.Keys.Order(StringComparer.Ordinal).Select(n => (n, _defaults[n]));

    /// <summary>Loads defaults, then <paramref name="configDir"/>/main.cf if it exists. A null
    /// directory means embedded defaults only.</summary>
    public static MainCf Load(string? configDir)
    {
        if (configDir is null)
        {
            return new MainCf(null, null, ParameterDefaults.For(null), new(StringComparer.Ordinal), new HashSet<string>());
        }

        string dir = Path.GetFullPath(configDir);
        if (!Directory.Exists(dir))
        {
            throw new ConfigException("configuration directory does not exist", dir);
        }

        string path = Path.Combine(dir, "main.cf");
        string? text = ReadIfExists(path);
        var settings = text is null ? new Dictionary<string, Setting>(StringComparer.Ordinal) : ParseSettings(text, path);

        // Parameters used only by master.cf "-o name=$param" are legitimate user-defined parameters.
        string? masterText = ReadIfExists(Path.Combine(dir, "master.cf"));
        var external = masterText is null ? new HashSet<string>() : ReferencesOutsideComments(masterText);

        return new MainCf(dir, text is null ? null : path, ParameterDefaults.For(dir), settings, external);
    }

    /// <summary>Parses main.cf text without a configuration directory (relative paths resolve
    /// against the current directory). <paramref name="fileName"/> is used in error messages.</summary>
    public static MainCf Parse(string text, string? fileName = null) =>
        new(null, fileName, ParameterDefaults.For(null), ParseSettings(text, fileName), new HashSet<string>());

    /// <summary>A copy with master.cf "-o name=value" overrides applied. Unknown names are errors;
    /// <paramref name="sourceFile"/>/<paramref name="sourceLine"/> locate the overrides in messages.</summary>
    public MainCf WithOverrides(IReadOnlyDictionary<string, string> overrides, string? sourceFile = null, int sourceLine = 0)
    {
        if (overrides.Count == 0)
        {
            return this;
        }

        var merged = new Dictionary<string, Setting>(_explicit, StringComparer.Ordinal);
        foreach (var (name, value) in overrides)
        {
            if (!ParameterExpander.IsValidName(name))
            {
                throw new ConfigException($"bad parameter name \"{name}\"", sourceFile, sourceLine);
            }

            merged[name] = new Setting(value.Trim(), sourceFile, sourceLine);
        }

        return new MainCf(ConfigDirectory, MainCfPath, _defaults, merged, _externalReferences);
    }

    /// <summary>The expanded value. Throws KeyNotFoundException for an undefined parameter.</summary>
    public string Get(string name) =>
        _values.ContainsKey(name) ? _expander.ExpandParameter(name) : throw Unknown(name);

    /// <summary>The raw (unexpanded) value. Throws KeyNotFoundException for an undefined parameter.</summary>
    public string GetRaw(string name) =>
        _values.TryGetValue(name, out var raw) ? raw : throw Unknown(name);

    public bool TryGet(string name, out string value)
    {
        if (_values.ContainsKey(name))
        {
            value = _expander.ExpandParameter(name);
            return true;
        }

        value = "";
        return false;
    }

    /// <summary>True when the parameter is defined (built in, or set in main.cf/overrides).</summary>
    public bool IsDefined(string name) => _values.ContainsKey(name);

    /// <summary>True when the parameter was set in main.cf or by an override.</summary>
    public bool IsExplicit(string name) => _explicit.ContainsKey(name);

    /// <summary>Where the parameter was set: (file, line), or (null, 0) for a built-in default.</summary>
    public (string? File, int Line) SourceOf(string name) =>
        _explicit.TryGetValue(name, out var s) ? (s.File, s.Line) : (null, 0);

    public bool GetBool(string name)
    {
        string value = Get(name);
        return ValueSyntax.TryParseBool(value, out bool result)
            ? result
            : throw ErrorFor(name, $"bad boolean value \"{value}\" (specify yes or no)");
    }

    public long GetLong(string name)
    {
        string value = Get(name);
        return ValueSyntax.TryParseLong(value, out long result)
            ? result
            : throw ErrorFor(name, $"bad numerical value \"{value}\"");
    }

    public int GetInt(string name)
    {
        long value = GetLong(name);
        return value is >= int.MinValue and <= int.MaxValue
            ? (int)value
            : throw ErrorFor(name, $"numerical value {value} is out of range");
    }

    /// <summary>A Postfix time value: a number with an optional s/m/h/d/w suffix; a bare number
    /// is in <paramref name="defaultUnit"/> (seconds for every parameter we know).</summary>
    public TimeSpan GetTime(string name, char defaultUnit = 's')
    {
        string value = Get(name);
        return ValueSyntax.TryParseTime(value, defaultUnit, out var result)
            ? result
            : throw ErrorFor(name, $"bad time value \"{value}\" (specify a number with an optional s, m, h, d or w suffix)");
    }

    /// <summary>The expanded value split on whitespace and commas, empty items dropped.</summary>
    public IReadOnlyList<string> GetList(string name) => ValueSyntax.SplitList(Get(name));

    /// <summary>A ConfigException about <paramref name="name"/>, located where it was set.</summary>
    public ConfigException ErrorFor(string name, string message)
    {
        var (file, line) = SourceOf(name);
        return new ConfigException($"parameter \"{name}\": {message}", file, line);
    }

    private static KeyNotFoundException Unknown(string name) => new($"unknown parameter \"{name}\"");

    private void RejectUnknownParameters()
    {
        var referenced = new HashSet<string>(_externalReferences, StringComparer.Ordinal);
        foreach (var (name, value) in _values)
        {
            foreach (var r in ParameterExpander.ReferencedNames(value))
            {
                if (r != name)
                {
                    referenced.Add(r);
                }
            }
        }

        var bad = _explicit
            .Where(kv => !ParameterDefaults.IsKnown(kv.Key) && !referenced.Contains(kv.Key))
            .OrderBy(kv => kv.Value.File ?? "", StringComparer.Ordinal)
            .ThenBy(kv => kv.Value.Line)
            .FirstOrDefault();
        if (bad.Key is not null)
        {
            throw new ConfigException($"unknown parameter \"{bad.Key}\"", bad.Value.File, bad.Value.Line);
        }
    }

    private static Dictionary<string, Setting> ParseSettings(string text, string? file)
    {
        var settings = new Dictionary<string, Setting>(StringComparer.Ordinal);
        foreach (var line in LogicalLineReader.Read(text, file))
        {
            int eq = line.Text.IndexOf('=');
            if (eq < 0)
            {
                throw new ConfigException($"missing '=' after parameter name: \"{line.Text}\"", file, line.LineNumber);
            }

            string name = line.Text[..eq].Trim();
            if (!ParameterExpander.IsValidName(name))
            {
                throw new ConfigException($"bad parameter name \"{name}\" (use only A-Z, a-z, 0-9 and _)", file, line.LineNumber);
            }

            settings[name] = new Setting(line.Text[(eq + 1)..].Trim(), file, line.LineNumber);
        }

        return settings;
    }

    private static string? ReadIfExists(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"cannot read: {e.Message}", path, 0, e);
        }
    }

    private static HashSet<string> ReferencesOutsideComments(string text)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (!line.TrimStart().StartsWith('#'))
            {
                names.UnionWith(ParameterExpander.ReferencedNames(line));
            }
        }

        return names;
    }

    private readonly record struct Setting(string Value, string? File, int Line);
}
