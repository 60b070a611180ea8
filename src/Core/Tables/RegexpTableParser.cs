// Reads a regexp_table(5) or pcre_table(5) file (Postfix's dict_regexp_open() and
// dict_pcre_open()): logical lines as postmap reads them, each a rule "[!]/pattern/flags result"
// (regexp: also "/p1/!/p2/ result"), "if [!]/pattern/flags" or "endif". Flags toggle from the
// defaults: regexp i (on: case-insensitive), m, x (on: extended syntax); pcre i (on), m, s (on),
// x, A, E, U, X (ignored, as with PCRE2). Where Postfix warns and skips a broken rule, we refuse
// the table with a ConfigException naming file:line (a rule silently missing from an access map
// is worse than a table that does not load); harmless oddities (no result text, text after
// if/endif, an if without endif) are warnings as in Postfix. Input: the admin's file (trusted).
using System.Text;
using System.Text.RegularExpressions;
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

internal static class RegexpTableParser
{
    public enum Dialect { Posix, Pcre }

    public static RegexpTable Open(string path, Dialect dialect, TableOptions options)
    {
        string type = dialect == Dialect.Posix ? "regexp" : "pcre";
        byte[] text;
        try { text = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException($"{type}:{path}: open {path}: No such file or directory");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{type}:{path}: open {path}: {e.Message}");
        }
        return Parse(text, path, $"{type}:{path}", dialect, options);
    }

    /// <summary>regexp:{ {rule}, {rule} } (Postfix 3.7): each item is one line of an in-memory file.</summary>
    public static RegexpTable Inline(string spec, Dialect dialect, TableOptions options)
    {
        string type = dialect == Dialect.Posix ? "regexp" : "pcre";
        var lines = DictionaryTable.InlineItems(spec, type);
        var text = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
        return Parse(text, $"{type}:{spec}", $"{type}:{spec}", dialect, options);
    }

    public static RegexpTable Parse(ReadOnlySpan<byte> text, string path, string name, Dialect dialect, TableOptions options)
    {
        string type = dialect == Dialect.Posix ? "regexp" : "pcre";
        var rules = new List<RegexpRule>();
        var open = new Stack<RegexpRule>();
        var reader = new TableLineReader(text, path, options.Warn);
        while (reader.TryRead(out var raw, out int line))
        {
            var s = Encoding.UTF8.GetString(TableLineReader.TrimEnd(raw));
            if (s.Length == 0) continue;
            var ctx = new LineContext(s, path, line, type, dialect, options);
            if (!char.IsAsciiLetterOrDigit(s[0]))
            {
                rules.Add(ParseMatch(ctx));
            }
            else if (IsKeyword(s, "if"))
            {
                int p = SkipSpace(s, 2);
                var (regex, negated) = ctx.Pattern(ref p);
                p = SkipSpace(s, p);
                if (p < s.Length)
                {
                    options.Warn?.Invoke($"{type} map {path}, line {line}: ignoring extra text after IF statement: \"{s[p..]}\"");
                    options.Warn?.Invoke($"{type} map {path}, line {line}: do not prepend whitespace to statements between IF and ENDIF");
                }
                var rule = new RegexpRule { Kind = RegexpRule.RuleKind.If, Line = line, Pattern = regex, Negated = negated };
                open.Push(rule);
                rules.Add(rule);
            }
            else if (IsKeyword(s, "endif"))
            {
                if (open.Count == 0) throw new ConfigException("ENDIF without matching IF", path, line);
                if (SkipSpace(s, 5) < s.Length) options.Warn?.Invoke($"{type} map {path}, line {line}: ignoring extra text after ENDIF");
                open.Pop().EndifIndex = rules.Count;
                rules.Add(new RegexpRule { Kind = RegexpRule.RuleKind.Endif, Line = line });
            }
            else
            {
                throw new ConfigException($"unrecognized request \"{Shorten(s)}\" (expected /pattern/ result, if /pattern/ or endif)", path, line);
            }
        }
        foreach (var rule in open)
            options.Warn?.Invoke($"{type} map {path}, line {rule.Line}: IF has no matching ENDIF");
        return new RegexpTable(type, path, name, [.. rules], options.Utf8);
    }

    private static RegexpRule ParseMatch(LineContext ctx)
    {
        var s = ctx.Text;
        int p = 0;
        var first = ctx.PatternSource(ref p);
        (string Source, bool Negated, string Flags)? second = null;
        if (ctx.Dialect == Dialect.Posix && p < s.Length && s[p] == '!') second = ctx.PatternSource(ref p);
        p = SkipSpace(s, p);
        if (p >= s.Length) ctx.Options.Warn?.Invoke($"{ctx.Type} map {ctx.Path}, line {ctx.Line}: no replacement text: using empty string");
        var replacement = RegexpReplacement.Parse(s[p..], ctx.Path, ctx.Line);
        if (replacement.MaxGroup > 0 && first.Negated)
            throw new ConfigException("$number found in negative match replacement text", ctx.Path, ctx.Line);
        var regex = ctx.Compile(first.Source, first.Flags);
        int groups = regex.GetGroupNumbers().Max();
        if (replacement.MaxGroup > groups)
            throw new ConfigException($"out of range replacement index \"{replacement.MaxGroup}\"", ctx.Path, ctx.Line);
        return new RegexpRule
        {
            Kind = RegexpRule.RuleKind.Match,
            Line = ctx.Line,
            Pattern = regex,
            Negated = first.Negated,
            Second = second is { } two ? ctx.Compile(two.Source, two.Flags) : null,
            SecondNegated = second?.Negated ?? false,
            Replacement = replacement,
        };
    }

    private static bool IsKeyword(string s, string keyword) =>
        s.StartsWith(keyword, StringComparison.OrdinalIgnoreCase) && (s.Length == keyword.Length || !char.IsAsciiLetterOrDigit(s[keyword.Length]));

    private static int SkipSpace(string s, int p)
    {
        while (p < s.Length && TableLineReader.IsSpace((byte)s[p])) p++;
        return p;
    }

    private static string Shorten(string s) => s.Length > 40 ? s[..40] + "..." : s;

    private readonly record struct LineContext(string Text, string Path, int Line, string Type, Dialect Dialect, TableOptions Options)
    {
        public (Regex Regex, bool Negated) Pattern(ref int p)
        {
            var (source, negated, flags) = PatternSource(ref p);
            return (Compile(source, flags), negated);
        }

        /// <summary>"[!...]DpatternDflags" at p (D: any delimiter); p ends after the flags.</summary>
        public (string Source, bool Negated, string Flags) PatternSource(ref int p)
        {
            var s = Text;
            bool negated = false;
            for (; p < s.Length; p++)
            {
                if (s[p] == '!') negated = !negated;
                else if (!TableLineReader.IsSpace((byte)s[p])) break;
            }
            if (p >= s.Length) throw new ConfigException("no regexp", Path, Line);
            char delimiter = s[p++];
            int start = p;
            while (p < s.Length && s[p] != delimiter)
            {
                if (s[p] == '\\' && p + 1 < s.Length) p++;
                p++;
            }
            if (p >= s.Length) throw new ConfigException($"no closing regexp delimiter \"{delimiter}\"", Path, Line);
            var source = s[start..p];
            int flagsStart = ++p;
            while (p < s.Length && !TableLineReader.IsSpace((byte)s[p]) && !(Dialect == Dialect.Posix && s[p] == '!')) p++;
            var flags = s[flagsStart..p];
            foreach (char f in flags)
            {
                if ((Dialect == Dialect.Posix ? "imx" : "imsxAEUX").IndexOf(f) < 0)
                    throw new ConfigException($"unknown regexp option \"{f}\"", Path, Line);
            }
            return (source, negated, flags);
        }

        public Regex Compile(string source, string flags)
        {
            bool Toggled(char f, bool initial) => flags.Count(c => c == f) % 2 == 1 ? !initial : initial;
            var options = RegexOptions.CultureInvariant;
            bool ignoreCase = Toggled('i', true);
            if (ignoreCase) options |= RegexOptions.IgnoreCase;
            var pattern = PatternBytes.FromString(source);
            string translated;
            try
            {
                if (Dialect == Dialect.Posix)
                {
                    translated = PosixRegexTranslator.Translate(pattern, extended: Toggled('x', true), newlineSensitive: Toggled('m', false), ignoreCase);
                }
                else
                {
                    bool multiline = Toggled('m', false);
                    if (multiline) options |= RegexOptions.Multiline;
                    if (Toggled('s', true)) options |= RegexOptions.Singleline;
                    bool extended = Toggled('x', false);
                    if (extended) options |= RegexOptions.IgnorePatternWhitespace;
                    translated = PcreRegexTranslator.Translate(pattern, extended, ungreedy: Toggled('U', false),
                        dollarEndOnly: Toggled('E', false), multiline, anchored: Toggled('A', false));
                }
                return new Regex(translated, options, Options.RegexMatchTimeout);
            }
            catch (ArgumentException e)
            {
                throw new ConfigException($"bad regular expression /{source}/: {e.Message}", Path, Line);
            }
        }
    }
}
