// The slow, obviously-correct model of smtpd's command reading that the fuzz
// target checks SmtpCommandParser against (Garnet's fuzz habit): the whole
// input is one byte array, split at every LF, each line judged on its own:
// - more than limit+1 bytes before its LF (room for the line and its CR), or
//   a last unterminated piece already that long: too long, dropped through
//   its LF;
// - not ending in CR before the LF: bare LF, and reading stops (smtpd closes);
// - a CR anywhere else in the line: bare CR, and reading stops;
// - otherwise a command: the verb is the text before the first space,
//   compared letter by letter in ASCII upper case with the verb names; the
//   argument is the rest with leading spaces removed.
using Postfix.Protocols.Smtpd;

namespace Postfix.Tests.Fuzz;

public static class ReferenceCommandReader
{
    private static readonly (string Name, SmtpCommand Command)[] Verbs =
    [
        ("HELO", SmtpCommand.Helo), ("EHLO", SmtpCommand.Ehlo), ("MAIL", SmtpCommand.Mail),
        ("RCPT", SmtpCommand.Rcpt), ("DATA", SmtpCommand.Data), ("BDAT", SmtpCommand.Bdat),
        ("RSET", SmtpCommand.Rset), ("NOOP", SmtpCommand.Noop), ("QUIT", SmtpCommand.Quit),
        ("HELP", SmtpCommand.Help), ("VRFY", SmtpCommand.Vrfy), ("EXPN", SmtpCommand.Expn),
        ("ETRN", SmtpCommand.Etrn), ("STARTTLS", SmtpCommand.StartTls), ("AUTH", SmtpCommand.Auth),
    ];

    public static List<string> Events(byte[] input, int limit)
    {
        var events = new List<string>();
        int pos = 0;
        while (pos < input.Length)
        {
            int lf = Array.IndexOf(input, (byte)'\n', pos);
            int length = (lf < 0 ? input.Length : lf) - pos;
            if (length > limit + 1)
            {
                events.Add(FuzzEvents.TooLong);
                if (lf < 0) break;
                pos = lf + 1;
                continue;
            }
            if (lf < 0) break; // waits for the rest of the line
            if (length == 0 || input[lf - 1] != (byte)'\r')
            {
                events.Add(FuzzEvents.BareLf);
                break;
            }
            var line = input[pos..(lf - 1)];
            if (Array.IndexOf(line, (byte)'\r') >= 0)
            {
                events.Add(FuzzEvents.BareCr);
                break;
            }
            var (command, argument) = Parse(line);
            events.Add(FuzzEvents.Command(line, command, argument));
            pos = lf + 1;
        }
        return events;
    }

    public static (SmtpCommand Command, byte[] Argument) Parse(byte[] line)
    {
        int space = Array.IndexOf(line, (byte)' ');
        byte[] verb = space < 0 ? line : line[..space];
        byte[] argument = space < 0 ? [] : line[(space + 1)..].SkipWhile(b => b == (byte)' ').ToArray();
        foreach (var (name, command) in Verbs)
        {
            if (verb.Length != name.Length) continue;
            bool same = true;
            for (int i = 0; i < verb.Length && same; i++) same = ToUpperAscii(verb[i]) == name[i];
            if (same) return (command, argument);
        }
        return (SmtpCommand.Unknown, argument);
    }

    private static char ToUpperAscii(byte b) => b is >= (byte)'a' and <= (byte)'z' ? (char)(b - 32) : (char)b;
}
