// Prometheus text exposition format, version 0.0.4: "# HELP" / "# TYPE" lines and
// "name{label="value"} number" samples. Names follow the OpenTelemetry-to-
// Prometheus convention (dots become underscores, the unit "s" becomes a
// "_seconds" suffix, counters end in "_total"). Label values may hold anything a
// tag carried (a transport name from master.cf, in principle any text), so
// they are escaped as the format requires: backslash, double quote, newline.
using System.Globalization;
using System.Text;

namespace Postfix.Core.Diagnostics;

public static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>The family name for an instrument: "postfix.delivery.delay" + "s" → "postfix_delivery_delay_seconds".</summary>
    public static string MetricName(string instrumentName, string? unit, bool counter)
    {
        var sb = new StringBuilder(instrumentName.Length + 16);
        AppendName(sb, instrumentName, allowColon: true);
        string? suffix = unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            _ => null, // "{message}" and the like are annotations, not units
        };
        if (suffix is not null && !EndsWith(sb, suffix)) sb.Append(suffix);
        if (counter && !EndsWith(sb, "_total")) sb.Append("_total");
        return sb.ToString();
    }

    public static void WriteFamilyHeader(StringBuilder sb, string name, string? help, string type)
    {
        if (!string.IsNullOrEmpty(help))
        {
            sb.Append("# HELP ").Append(name).Append(' ');
            foreach (char c in help)
            {
                if (c == '\\') sb.Append(@"\\");
                else if (c == '\n') sb.Append(@"\n");
                else sb.Append(c);
            }
            sb.Append('\n');
        }
        sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    /// <summary>One sample line; <paramref name="le"/> adds the histogram bucket label last.</summary>
    public static void WriteSample(StringBuilder sb, string name, string suffix,
        IReadOnlyList<KeyValuePair<string, object?>> labels, double? le, double value)
    {
        sb.Append(name).Append(suffix);
        if (labels.Count > 0 || le is not null)
        {
            sb.Append('{');
            bool first = true;
            foreach (var l in labels)
            {
                if (!first) sb.Append(',');
                first = false;
                AppendName(sb, l.Key, allowColon: false);
                sb.Append("=\"");
                AppendLabelValue(sb, Convert.ToString(l.Value, CultureInfo.InvariantCulture) ?? "");
                sb.Append('"');
            }
            if (le is { } bound)
            {
                if (!first) sb.Append(',');
                sb.Append("le=\"").Append(FormatNumber(bound)).Append('"');
            }
            sb.Append('}');
        }
        sb.Append(' ').Append(FormatNumber(value)).Append('\n');
    }

    /// <summary>Escapes a label value: \ → \\, " → \", newline → \n.</summary>
    public static void AppendLabelValue(StringBuilder sb, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append(@"\n"); break;
                default: sb.Append(c); break;
            }
        }
    }

    /// <summary>A sample value as Go's ParseFloat reads it: +Inf, -Inf, NaN, or the shortest round-trip form.</summary>
    public static string FormatNumber(double v)
    {
        if (double.IsPositiveInfinity(v)) return "+Inf";
        if (double.IsNegativeInfinity(v)) return "-Inf";
        if (double.IsNaN(v)) return "NaN";
        return v.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names the same without ':'. Others become '_'.</summary>
    private static void AppendName(StringBuilder sb, string name, bool allowColon)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0])) sb.Append('_');
        foreach (char c in name)
            sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':') ? c : '_');
    }

    private static bool EndsWith(StringBuilder sb, string suffix)
    {
        if (sb.Length < suffix.Length) return false;
        for (int i = 0; i < suffix.Length; i++)
            if (sb[sb.Length - suffix.Length + i] != suffix[i]) return false;
        return true;
    }
}
