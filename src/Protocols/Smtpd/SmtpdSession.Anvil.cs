// smtpd(8)'s anvil limits on MAIL FROM (smtpd_client_message_rate_limit) and RCPT TO
// (smtpd_client_recipient_rate_limit), with Postfix's replies and log lines. On a single
// node the count is this process's Anvil, synchronous and allocation-free. With a shared
// counter (cluster_store: SmtpdSettings.ClientRates) the count is a round trip to the
// store, so it is an asynchronous step of the session like AUTH's and the DNS checks':
// the command returns Next.CountRate with its argument kept, LoopAsync awaits
// CountRateAsync, and the command runs again from the rate check on (rateCounted), so
// pipelined commands behind it wait their turn. Input: the command argument (untrusted,
// kept as bytes, parsed again by the same code).
namespace Postfix.Protocols.Smtpd;

public sealed partial class SmtpdSession
{
    private byte[]? _rateArg;
    private Anvil.Event _rateEvent;

    /// <summary>Counts a MAIL (Message) or RCPT (Recipient) against its limit: null to carry on,
    /// else what the command answers (the 450 reply, or CountRate for the shared counter).</summary>
    private Next? RateLimit(Anvil.Event e, ReadOnlySpan<byte> arg)
    {
        int limit = RateLimitOf(e);
        if (limit <= 0 || _clientIp is null || _s.IsEventLimitException(_clientIp)) return null;
        if (_s.ClientRates is null)
        {
            int n = _server.Anvil.Count(_clientIp, e, _s.AnvilRateTimeUnit, Environment.TickCount64);
            return n > limit ? OverRate(e, n) : null;
        }
        _rateArg = arg.ToArray();
        _rateEvent = e;
        return Next.CountRate;
    }

    /// <summary>The shared count of the MAIL or RCPT RateLimit deferred, then the command's answer.</summary>
    private async Task<Next> CountRateAsync()
    {
        var arg = _rateArg!;
        var e = _rateEvent;
        _rateArg = null;
        int limit = RateLimitOf(e);
        long n = await _server.CountSharedAsync(_clientIp!, _s, e, limit).ConfigureAwait(false);
        if (n > limit) return OverRate(e, n);
        return e == Anvil.Event.Message ? Mail(arg, rateCounted: true) : Rcpt(arg, rateCounted: true);
    }

    private int RateLimitOf(Anvil.Event e) => e == Anvil.Event.Message ? _s.ClientMessageRateLimit : _s.ClientRecipientRateLimit;

    // Postfix smtpd_check.c: the warning names the count anvil returned; the reply is 450 4.7.1.
    private Next OverRate(Anvil.Event e, long count)
    {
        if (e == Anvil.Event.Message)
        {
            _server.Log.Info("smtpd", _pid, $"warning: Message delivery request rate limit exceeded: {count} from {_clientLabel} for service smtp");
            WriteLine($"450 4.7.1 Error: too much mail from {_clientAddr}");
        }
        else
        {
            _server.Log.Info("smtpd", _pid, $"warning: Recipient address rate limit exceeded: {count} from {_clientLabel} for service smtp");
            WriteLine($"450 4.7.1 Error: too many recipients from {_clientAddr}");
        }
        _errors++;
        return HardErrorLimitReached() ? Next.Close : Next.NeedMore;
    }
}
