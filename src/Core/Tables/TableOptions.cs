// How a lookup table is opened: case folding (postmap -f, smtputf8_enable via
// compatibility_level), the time limit for one regular expression match, and where warnings go
// (postmap: stderr; daemons: none yet). Trusted: built from main.cf and command-line flags.
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

public sealed record TableOptions
{
    public static TableOptions Default { get; } = new();

    /// <summary>Fold keys to lowercase (hash:, texthash:, inline:); postmap -f clears it.
    /// Pattern tables (regexp:, pcre:) never fold: their flags decide case sensitivity.</summary>
    public bool FoldCase { get; init; } = true;

    /// <summary>smtputf8_enable: fold UTF-8 keys with Unicode case folding and ignore source
    /// lines that are not UTF-8. Off: fold A-Z only (Postfix at compatibility_level 0).</summary>
    public bool Utf8 { get; init; } = true;

    /// <summary>Time limit for one regular expression match (regexp:, pcre:); a match that runs
    /// longer is a lookup error (TableLookupException), not a hang: Postfix's PCRE match limit.</summary>
    public TimeSpan RegexMatchTimeout { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Receives warnings (duplicate entries, malformed source lines that Postfix skips).</summary>
    public Action<string>? Warn { get; init; }

    /// <summary>A key folded as tables opened with these options fold it.</summary>
    public string FoldKey(string key) => TableKeyFold.FoldString(Fold, key);

    public KeyFoldMode Fold => !FoldCase ? KeyFoldMode.None : Utf8 ? KeyFoldMode.Utf8 : KeyFoldMode.Ascii;

    /// <summary>The options main.cf implies (Unicode folding per compatibility_level), as the
    /// daemons and postmap must agree on how keys were folded.</summary>
    public static TableOptions FromMainCf(MainCf main) => new() { Utf8 = Utf8ForCompatibilityLevel(main.Get("compatibility_level")) };

    /// <summary>smtputf8_enable's default: "yes" from compatibility_level 1 on (man 5 postconf).</summary>
    public static bool Utf8ForCompatibilityLevel(string level)
    {
        int dot = level.IndexOf('.');
        var major = dot < 0 ? level : level[..dot];
        return !int.TryParse(major.Trim(), out int n) || n >= 1;
    }
}
