// The answer of a SASL back end: success, a failure the client caused (wrong
// credentials: 535), or a temporary failure of the back end itself (454).
namespace Postfix.Protocols.Sasl;

public readonly record struct SaslVerdict(SaslOutcome Outcome, string Reason)
{
    public static SaslVerdict Ok { get; } = new(SaslOutcome.Ok, "");
    public static SaslVerdict Failed { get; } = new(SaslOutcome.Failed, "authentication failure");
    public static SaslVerdict TempFail(string reason) => new(SaslOutcome.TempFail, reason);
}
