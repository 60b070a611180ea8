// Splits Postfix configuration text into logical lines, as Postfix's readllines() does for
// main.cf (postconf(5)) and master.cf (master(5)): '#' lines and blank lines are skipped, a line
// starting with whitespace continues the previous logical line. Input is the (trusted) config file.
namespace Postfix.Core.Config;

internal static class LogicalLineReader
{
    /// <summary>One logical line: text with continuations joined by a single space, and the
    /// 1-based number of the physical line it started on.</summary>
    internal readonly record struct LogicalLine(string Text, int LineNumber);

    internal static List<LogicalLine> Read(string text, string? file)
    {
        var result = new List<LogicalLine>();
        string? current = null;
        int currentLine = 0;
        int lineNumber = 0;
        int pos = 0;

        while (pos <= text.Length)
        {
            int nl = text.IndexOf('\n', pos);
            int end = nl < 0 ? text.Length : nl;
            lineNumber++;
            ReadOnlySpan<char> physical = text.AsSpan(pos, end - pos);
            pos = end + 1;

            ReadOnlySpan<char> trimmed = physical.Trim();
            if (trimmed.IsEmpty || trimmed[0] == '#')
            {
                if (nl < 0)
                {
                    break;
                }

                continue;
            }

            if (char.IsWhiteSpace(physical[0]))
            {
                if (current is null)
                {
                    throw new ConfigException(
                        "continuation line without a preceding logical line (line starts with whitespace)",
                        file, lineNumber);
                }

                current = current + " " + trimmed.ToString();
            }
            else
            {
                if (current is not null)
                {
                    result.Add(new LogicalLine(current, currentLine));
                }

                current = trimmed.ToString();
                currentLine = lineNumber;
            }

            if (nl < 0)
            {
                break;
            }
        }

        if (current is not null)
        {
            result.Add(new LogicalLine(current, currentLine));
        }

        return result;
    }
}
