// regexp:/file and pcre:/file (regexp_table(5), pcre_table(5); Postfix's dict_regexp.c and
// dict_pcre.c): rules tried in file order against the whole key, first match wins, "if"/"endif"
// skip a block when their pattern does not match, $N copies matched text into the result. Keys
// are never folded (each pattern's "i" flag decides). Every match has a time limit
// (TableOptions.RegexMatchTimeout): a pattern that backtracks past it (ReDoS) makes the lookup
// fail with TableLookupException, which callers treat as "try again", as Postfix treats a PCRE
// match-limit error. Matching is on bytes, as Postfix's is (PatternBytes), over a stack copy of
// the key; it allocates only when a rule with $N matches. Keys are untrusted; rules are the
// admin's (trusted).
using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using System.Text.Unicode;

namespace Postfix.Core.Tables;

public sealed class RegexpTable : ILookupTable
{
    // Substituted results: one buffer per table and thread, so a result stays valid until the
    // next lookup in this table on this thread (ILookupTable's contract).
    private readonly ThreadLocal<byte[]> _result = new(() => new byte[256]);

    private readonly RegexpRule[] _rules;
    private readonly string _mapType;
    private readonly string _path;
    private readonly bool _utf8;

    internal RegexpTable(string type, string path, string name, RegexpRule[] rules, bool utf8)
    {
        _utf8 = utf8;
        _mapType = type;
        _path = path;
        Name = name;
        _rules = rules;
    }

    public string Name { get; }

    public bool IsPattern => true;

    /// <summary>Number of rules (match, if and endif).</summary>
    public int RuleCount => _rules.Length;

    public bool TryLookup(scoped ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (_utf8 && !Ascii.IsValid(key) && !Utf8.IsValid(key)) return false; // Postfix: non-UTF-8 keys match nothing
        const int StackLimit = 256;
        char[]? rented = null;
        Span<char> chars = key.Length <= StackLimit ? stackalloc char[StackLimit] : (rented = ArrayPool<char>.Shared.Rent(key.Length));
        try
        {
            PatternBytes.Decode(key, chars);
            return Evaluate(chars[..key.Length], out value);
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }

    public string? Lookup(string key) => ILookupTable.LookupString(this, key);

    private bool Evaluate(scoped ReadOnlySpan<char> input, out ReadOnlySpan<byte> value)
    {
        value = default;
        string? inputString = null;
        for (int r = 0; r < _rules.Length; r++)
        {
            var rule = _rules[r];
            switch (rule.Kind)
            {
                case RegexpRule.RuleKind.If:
                    if (IsMatch(rule.Pattern!, input, rule) != rule.Negated) continue;
                    if (rule.EndifIndex < 0) return false; // an "if" without "endif" hides the rest of the file
                    r = rule.EndifIndex;
                    continue;
                case RegexpRule.RuleKind.Endif:
                    continue;
            }
            var replacement = rule.Replacement!;
            Match? match = null;
            if (replacement.Literal is not null)
            {
                if (IsMatch(rule.Pattern!, input, rule) == rule.Negated) continue;
            }
            else
            {
                inputString ??= input.ToString();
                match = MatchOf(rule, inputString);
                if (!match.Success) continue;
            }
            if (rule.Second is { } second && IsMatch(second, input, rule) == rule.SecondNegated) continue;
            if (replacement.Literal is { } literal)
            {
                value = literal;
                return true;
            }
            var buffer = _result.Value!;
            int length = replacement.Expand(match!, ref buffer);
            _result.Value = buffer;
            value = buffer.AsSpan(0, length);
            return true;
        }
        return false;
    }

    private bool IsMatch(Regex regex, ReadOnlySpan<char> input, RegexpRule rule)
    {
        try
        {
            return regex.IsMatch(input);
        }
        catch (RegexMatchTimeoutException e)
        {
            throw Timeout(rule, e);
        }
    }

    private Match MatchOf(RegexpRule rule, string input)
    {
        try
        {
            return rule.Pattern!.Match(input);
        }
        catch (RegexMatchTimeoutException e)
        {
            throw Timeout(rule, e);
        }
    }

    private TableLookupException Timeout(RegexpRule rule, RegexMatchTimeoutException e) =>
        new($"{_mapType} map {_path}, line {rule.Line}: pattern match took longer than {e.MatchTimeout.TotalMilliseconds:0} ms", e);
}
