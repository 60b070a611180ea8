// Per-delivery recipient bookkeeping (Postfix smtp_rcpt.c and the
// SMTP_RCPT_KEEP/DROP logic of smtp_trouble.c). A recipient is decided once per
// session; a soft (4xx) decision at a server that is not the last one is only
// kept, so the recipient is tried again at the next MX host, and the last such
// reason is what it gets if no later server decides it.
using Postfix.Core.Delivery;

namespace Postfix.Protocols.Smtp;

internal sealed class SmtpDeliveryState
{
    private readonly SmtpOutcome?[] _final;
    private readonly SmtpOutcome?[] _kept;
    private readonly bool[] _decidedThisSession;

    public SmtpDeliveryState(DeliveryRequest request)
    {
        Request = request;
        int n = request.Recipients.Count;
        _final = new SmtpOutcome?[n];
        _kept = new SmtpOutcome?[n];
        _decidedThisSession = new bool[n];
    }

    public DeliveryRequest Request { get; }

    public int Count => _final.Length;

    /// <summary>True while the current server is the last one that will be tried.</summary>
    public bool FinalServer { get; private set; }

    public bool AnyPending
    {
        get
        {
            foreach (var f in _final) if (f == null) return true;
            return false;
        }
    }

    public void BeginSession(bool finalServer)
    {
        FinalServer = finalServer;
        Array.Clear(_decidedThisSession);
    }

    /// <summary>Still undecided overall and not yet decided by this session.</summary>
    public bool IsOpen(int i) => _final[i] == null && !_decidedThisSession[i];

    public void Decide(int i, SmtpOutcome outcome)
    {
        _decidedThisSession[i] = true;
        if (outcome.IsSoft && !FinalServer) _kept[i] = outcome;
        else _final[i] = outcome;
    }

    /// <summary>Decides every open recipient (smtp_bulk_fail).</summary>
    public void DecideAllOpen(SmtpOutcome outcome)
    {
        for (int i = 0; i < _final.Length; i++)
            if (IsOpen(i)) Decide(i, outcome);
    }

    /// <summary>A failure that is soft unless this is the last server (SMTP_MISC_FAIL_SOFT_NON_FINAL).</summary>
    public void DecideAllOpenSoftNonFinal(SmtpOutcome outcome)
    {
        if (FinalServer) DecideAllOpen(outcome);
        else DecideAllOpen(outcome with { Status = DeliveryStatus.Deferred, Dsn = "4" + outcome.Dsn[1..] });
    }

    /// <summary>Forgets this session's kept decisions after a retry-worthy failure of a reused connection.</summary>
    public void UndoSession()
    {
        Array.Clear(_decidedThisSession);
    }

    public IReadOnlyList<RecipientResult> Results()
    {
        var results = new RecipientResult[_final.Length];
        for (int i = 0; i < results.Length; i++)
        {
            var o = _final[i] ?? _kept[i]
                ?? new SmtpOutcome(DeliveryStatus.Deferred, "4.4.0", "delivery temporarily suspended: no server could be tried");
            results[i] = new RecipientResult(Request.Recipients[i], o.Status, o.Dsn, o.Diagnostic);
        }
        return results;
    }
}
