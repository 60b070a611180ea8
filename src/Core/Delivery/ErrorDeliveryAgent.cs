// error(8) and its "retry" twin: delivery agents that never deliver. The
// nexthop is the reason, optionally led by an RFC 3463 status
// ("error:5.1.1 User unknown in virtual alias table"); error bounces every
// recipient with it, retry defers them. trivial-rewrite routes recipients of
// a virtual alias domain that no alias matched here, as Postfix does.
namespace Postfix.Core.Delivery;

public sealed class ErrorDeliveryAgent(bool retry) : IDeliveryAgent
{
    public bool NeverBlocks => true;

    public ValueTask<DeliveryReport> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        var (dsn, text) = Parse(request.Nexthop, retry);
        var status = retry ? DeliveryStatus.Deferred : DeliveryStatus.Bounced;
        var results = request.Recipients.Select(r => new RecipientResult(r, status, dsn, text)).ToList();
        return ValueTask.FromResult(new DeliveryReport(results, "none", TimeSpan.Zero, TimeSpan.Zero));
    }

    /// <summary>"5.1.1 text" -> ("5.1.1", "text"); "text" -> default status for the kind.</summary>
    public static (string Dsn, string Text) Parse(string nexthop, bool retry)
    {
        var t = nexthop.Trim();
        int sp = t.IndexOf(' ');
        var first = sp < 0 ? t : t[..sp];
        var parts = first.Split('.');
        if (parts.Length == 3 && parts[0] is "4" or "5" && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit)))
        {
            var dsn = retry ? "4" + first[1..] : "5" + first[1..];
            return (dsn, sp < 0 ? (retry ? "delivery temporarily suspended" : "delivery failed") : t[(sp + 1)..]);
        }
        return (retry ? "4.0.0" : "5.0.0", t.Length > 0 ? t : retry ? "delivery temporarily suspended" : "delivery failed");
    }
}
