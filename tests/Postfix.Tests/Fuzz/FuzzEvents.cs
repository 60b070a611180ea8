// Events the fuzz drivers record, as readable strings so a failing property
// prints a diff a person can read (bytes escaped as in the corpus files).
using System.Text;
using Postfix.Protocols.Smtpd;

namespace Postfix.Tests.Fuzz;

public static class FuzzEvents
{
    public const string TooLong = "TOOLONG";
    public const string BareLf = "BARELF";
    public const string BareCr = "BARECR";

    public static string Command(ReadOnlySpan<byte> line, SmtpCommand command, ReadOnlySpan<byte> argument) =>
        $"{command} [{Escape(line)}] arg=[{Escape(argument)}]";

    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            if (b == (byte)'\r') sb.Append("\\r");
            else if (b == (byte)'\n') sb.Append("\\n");
            else if (b == (byte)'\\') sb.Append("\\\\");
            else if (b is >= 0x20 and < 0x7f) sb.Append((char)b);
            else sb.Append("\\x").Append(b.ToString("x2"));
        }
        return sb.ToString();
    }
}
