// Which delivery status notification bounce(8) is asked to build: Postfix's
// failure, delay and success templates (bounce/bounce_templates.c).
namespace Postfix.Core.Bounce;

public enum BounceKind : byte
{
    /// <summary>Non-delivery report: "Undelivered Mail Returned to Sender" (Action: failed).</summary>
    Failure,

    /// <summary>delay_warning_time notice: "Delayed Mail (still being retried)" (Action: delayed).</summary>
    Delay,

    /// <summary>NOTIFY=SUCCESS report: "Successful Mail Delivery Report" (Action: delivered).</summary>
    Success,
}
