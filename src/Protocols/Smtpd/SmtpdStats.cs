// Per-session command counters for Postfix's "disconnect from ... ehlo=1 mail=1
// rcpt=0/1 data=1 quit=1 commands=4" log line (ok/total when some failed).
using System.Text;

namespace Postfix.Protocols.Smtpd;

internal struct SmtpdCounter
{
    public int Ok;
    public int Total;
}

internal struct SmtpdStats
{
    public SmtpdCounter Helo, Ehlo, StartTls, Auth, Mail, Rcpt, Data, Bdat, Rset, Noop, Vrfy, Quit, Unknown;

    public readonly string Format()
    {
        var sb = new StringBuilder();
        Add(sb, "helo", Helo); Add(sb, "ehlo", Ehlo); Add(sb, "starttls", StartTls); Add(sb, "auth", Auth);
        Add(sb, "mail", Mail); Add(sb, "rcpt", Rcpt); Add(sb, "data", Data); Add(sb, "bdat", Bdat);
        Add(sb, "rset", Rset); Add(sb, "noop", Noop); Add(sb, "vrfy", Vrfy); Add(sb, "quit", Quit);
        Add(sb, "unknown", Unknown);
        int ok = Helo.Ok + Ehlo.Ok + StartTls.Ok + Auth.Ok + Mail.Ok + Rcpt.Ok + Data.Ok + Bdat.Ok + Rset.Ok + Noop.Ok + Vrfy.Ok + Quit.Ok + Unknown.Ok;
        int total = Helo.Total + Ehlo.Total + StartTls.Total + Auth.Total + Mail.Total + Rcpt.Total + Data.Total + Bdat.Total + Rset.Total + Noop.Total + Vrfy.Total + Quit.Total + Unknown.Total;
        Add(sb, "commands", new SmtpdCounter { Ok = ok, Total = total });
        return sb.ToString();
    }

    private static void Add(StringBuilder sb, string name, SmtpdCounter c)
    {
        if (c.Total == 0) return;
        sb.Append(' ').Append(name).Append('=').Append(c.Ok);
        if (c.Ok != c.Total) sb.Append('/').Append(c.Total);
    }
}
