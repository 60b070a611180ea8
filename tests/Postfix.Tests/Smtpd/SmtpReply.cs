// One SMTP reply as read off the wire: the three-digit code and every line
// (multi-line replies keep their "NNN-" lines).
namespace Postfix.Tests.Smtpd;

public sealed record SmtpReply(int Code, IReadOnlyList<string> Lines)
{
    public string Last => Lines[^1];

    public override string ToString() => string.Join(" | ", Lines);
}
