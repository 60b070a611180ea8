// Splits a delivery agent's reason into RFC 3464 section 2.3.5/2.3.6 fields the
// way Postfix's smtp(8) fills its DSN record: "host mx[1.2.3.4] said: 550 5.1.1
// ... (in reply to RCPT TO command)" becomes Remote-MTA "dns; mx" and
// Diagnostic-Code "smtp; 550 5.1.1 ...". Any other reason is reported as
// "X-Postfix; reason". Input is untrusted (remote server text); callers mask it.
namespace Postfix.Core.Bounce;

internal readonly record struct BounceDiagnostic(string? RemoteMta, string Type, string Text)
{
    private const string HostPrefix = "host ";
    private const string Said = " said: ";
    private const string InReplyTo = " (in reply to ";

    public static BounceDiagnostic Parse(string reason, string mailNameAtom)
    {
        if (reason.StartsWith(HostPrefix, StringComparison.Ordinal))
        {
            int said = reason.IndexOf(Said, StringComparison.Ordinal);
            if (said > HostPrefix.Length)
            {
                string host = reason[HostPrefix.Length..said];
                int bracket = host.IndexOf('[');
                if (bracket >= 0) host = host[..bracket];

                string reply = reason[(said + Said.Length)..];
                int tail = reply.LastIndexOf(InReplyTo, StringComparison.Ordinal);
                if (tail >= 0 && reply.EndsWith(')')) reply = reply[..tail];
                reply = reply.Trim();

                if (reply.Length > 0)
                {
                    return new BounceDiagnostic(host.Length > 0 ? "dns; " + host : null, "smtp", reply);
                }
            }
        }

        return new BounceDiagnostic(null, "X-" + mailNameAtom, reason);
    }
}
