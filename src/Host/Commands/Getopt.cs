// getopt(3) as Postfix's programs parse their flags: bundled letters (-tim),
// a value either attached (-fuser) or in the next word (-f user), "--" ends
// the options, the first word not starting with '-' is the first operand.
// Input: command-line words (operator or script supplied, untrusted as text).
namespace Postfix.Host.Commands;

public static class Getopt
{
    /// <summary>
    /// Walks the options; <paramref name="withValue"/> lists the letters that take a value
    /// (<paramref name="optionalValue"/>: those whose value may be absent, e.g. sendmail -q).
    /// Returns the index of the first operand.
    /// </summary>
    public static int Parse(string[] args, string withValue, Action<char, string?> option, string program, string optionalValue = "")
    {
        int i = 0;
        for (; i < args.Length; i++)
        {
            var a = args[i];
            if (a == "--") return i + 1;
            if (a.Length < 2 || a[0] != '-') break;
            for (int j = 1; j < a.Length; j++)
            {
                char c = a[j];
                if (!withValue.Contains(c))
                {
                    option(c, null);
                    continue;
                }
                string? value = j + 1 < a.Length ? a[(j + 1)..] : null;
                if (value is null && !optionalValue.Contains(c))
                {
                    if (++i >= args.Length) throw new UsageException($"{(program.Length > 0 ? program + ": " : "")}option requires an argument -- '{c}'");
                    value = args[i];
                }
                option(c, value ?? "");
                break;
            }
        }
        return i;
    }
}
