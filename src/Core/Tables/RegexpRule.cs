// One compiled rule of a regexp_table(5) / pcre_table(5) file: a match rule (/pattern/flags
// result, optionally negated with "!", regexp: also /p1/!/p2/), or an "if" / "endif" bracket.
// Built by RegexpTableParser from the admin's file (trusted).
using System.Text.RegularExpressions;

namespace Postfix.Core.Tables;

internal sealed class RegexpRule
{
    public enum RuleKind { Match, If, Endif }

    public required RuleKind Kind { get; init; }
    public required int Line { get; init; }
    public Regex? Pattern { get; init; }
    public bool Negated { get; init; }

    /// <summary>regexp: only: the legacy second pattern of "/p1/!/p2/ result".</summary>
    public Regex? Second { get; init; }
    public bool SecondNegated { get; init; }

    public RegexpReplacement? Replacement { get; init; }

    /// <summary>For an "if": index of its "endif" rule, or -1 when the file has none.</summary>
    public int EndifIndex { get; set; } = -1;
}
