// Postfix value syntaxes for typed main.cf parameters: booleans (yes/no), integers, time
// intervals with s/m/h/d/w units (Postfix conv_time()), and whitespace/comma lists (mystrtok()
// with CHARS_COMMA_SP). See man 5 postconf. Input is trusted config text; parsing is strict.
using System.Globalization;

namespace Postfix.Core.Config;

internal static class ValueSyntax
{
    private static readonly char[] _listSeparators = [' ', '\t', '\r', '\n', ','];

    internal static bool TryParseBool(string value, out bool result)
    {
        string v = value.Trim();
        if (v.Equals("yes", StringComparison.OrdinalIgnoreCase) || v.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            result = true;
            return true;
        }

        if (v.Equals("no", StringComparison.OrdinalIgnoreCase) || v.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            result = false;
            return true;
        }

        result = false;
        return false;
    }

    internal static bool TryParseLong(string value, out long result)
    {
        string v = value.Trim();
        if (v.Length == 0 || v.Length > 20)
        {
            result = 0;
            return false;
        }

        return long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result);
    }

    /// <summary>Parses "10", "10s", "5m", "1h", "5d", "1w"; a bare number uses <paramref name="defaultUnit"/>.
    /// Negative values and unknown units are rejected.</summary>
    internal static bool TryParseTime(string value, char defaultUnit, out TimeSpan result)
    {
        result = TimeSpan.Zero;
        ReadOnlySpan<char> v = value.AsSpan().Trim();
        int digits = 0;
        while (digits < v.Length && char.IsAsciiDigit(v[digits]))
        {
            digits++;
        }

        if (digits == 0 || digits > 12 || v.Length - digits > 1)
        {
            return false;
        }

        long amount = long.Parse(v[..digits], NumberStyles.None, CultureInfo.InvariantCulture);
        char unit = v.Length > digits ? v[digits] : defaultUnit;
        long seconds;
        switch (unit)
        {
            case 's': seconds = amount; break;
            case 'm': seconds = amount * 60; break;
            case 'h': seconds = amount * 3600; break;
            case 'd': seconds = amount * 86400; break;
            case 'w': seconds = amount * 604800; break;
            default: return false;
        }

        if (seconds > int.MaxValue)
        {
            return false;
        }

        result = TimeSpan.FromSeconds(seconds);
        return true;
    }

    internal static IReadOnlyList<string> SplitList(string value) =>
        value.Split(_listSeparators, StringSplitOptions.RemoveEmptyEntries);
}
