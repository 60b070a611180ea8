// How a table folds keys to lowercase (Postfix's DICT_FLAG_FOLD_FIX, postmap -f turns it off).
// Trusted: chosen by configuration.
namespace Postfix.Core.Tables;

public enum KeyFoldMode
{
    /// <summary>Keys are matched byte for byte (postmap -f).</summary>
    None,

    /// <summary>A-Z only, other bytes as they are: Postfix's lowercase() with smtputf8_enable = no
    /// (compatibility_level 0).</summary>
    Ascii,

    /// <summary>Unicode case folding of UTF-8 keys: Postfix's casefold() with smtputf8_enable =
    /// yes (compatibility_level 1 and later, our default). Invalid UTF-8 never matches.</summary>
    Utf8,
}
