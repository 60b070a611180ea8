// cleanup(8)'s reading of RFC 5322 address lists (To:, Cc:, Bcc: for
// sendmail -t, and sendmail's command-line arguments): display names,
// comments, quoted strings, angle addresses and groups ("list: a, b;").
// The input is untrusted message text; the scan is linear and never throws.
using System.Text;

namespace Postfix.Core.Cleanup;

public static class AddressList
{
    /// <summary>The addr-specs in an address list, in order (e.g. "A &lt;a@x&gt;, b@y (Bob)" → a@x, b@y).</summary>
    public static List<string> Parse(string text)
    {
        var result = new List<string>();
        var cur = new StringBuilder();   // the current address outside comments
        string? angle = null;
        int depth = 0;                   // comment nesting
        bool quoted = false, inAngle = false;
        var angleText = new StringBuilder();
        void Flush()
        {
            var a = angle ?? cur.ToString().Trim();
            if (a.Length > 0) result.Add(a);
            cur.Clear(); angle = null; angleText.Clear();
        }
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                (inAngle ? angleText : cur).Append(c);
                if (c == '\\' && i + 1 < text.Length) (inAngle ? angleText : cur).Append(text[++i]);
                else if (c == '"') quoted = false;
                continue;
            }
            if (depth > 0)
            {
                if (c == '\\') i++;
                else if (c == '(') depth++;
                else if (c == ')') depth--;
                continue;
            }
            switch (c)
            {
                case '(': depth++; break;
                case '"': quoted = true; (inAngle ? angleText : cur).Append(c); break;
                case '<': inAngle = true; angleText.Clear(); break;
                case '>' when inAngle: inAngle = false; angle = angleText.ToString().Trim(); break;
                case ':' when !inAngle: cur.Clear(); break;   // group name: "list: a, b;"
                case ';' when !inAngle: Flush(); break;       // group end
                case ',' when !inAngle: Flush(); break;
                case '\r' or '\n': break;
                default:
                    if (inAngle) angleText.Append(c);
                    else if (!char.IsWhiteSpace(c) || cur.Length > 0) cur.Append(c);
                    break;
            }
        }
        Flush();
        // A phrase without an angle address ("John Doe") is not an address.
        result.RemoveAll(a => a.Contains(' ') && !a.StartsWith('"'));
        return result;
    }
}
