// What qshape(1) needs from each queued message, read where the queue is open
// (inside the master for the showq "qshape" request, or by the command with the
// master stopped): its arrival time and the domain of its sender or of each
// recipient still to deliver. Like qshape, a message with no recipient left is
// not counted. On the showq socket each message is one line:
//   ARRIVAL_SECONDS <TAB> DOMAIN [<TAB> DOMAIN ...]
// Domains pass through QshapeTable.Domain, so they hold no tab or control
// character. Queue names come from the command line or a showq client: checked
// against the queue directory names, never trusted.
using System.Runtime.CompilerServices;
using Postfix.Core.Queue;
using Postfix.Queue.Store;

namespace Postfix.Host.Commands;

public static class QshapeSource
{
    /// <summary>qshape's default: the incoming and active queues.</summary>
    public static readonly IReadOnlyList<string> DefaultQueues = ["incoming", "active"];

    private static readonly QueueState[] MessageQueues = [QueueState.Incoming, QueueState.Active, QueueState.Deferred, QueueState.Hold];

    /// <summary>
    /// The message queues named (Postfix's queue directory names; maildrop and the
    /// log directories hold no messages here and add nothing). False with the first
    /// unknown name in <paramref name="bad"/>.
    /// </summary>
    public static bool TryParseQueues(IEnumerable<string> names, out HashSet<QueueState> states, out string? bad)
    {
        states = [];
        bad = null;
        foreach (var q in names)
        {
            if (!PostsuperSession.QueueNames.Contains(q)) { bad = q; return false; }
            foreach (var s in MessageQueues)
                if (s.Name() == q) states.Add(s);
        }
        return true;
    }

    public static async IAsyncEnumerable<(long ArrivalSeconds, List<string> Domains)> ReadAsync(
        QueueStore store, IReadOnlySet<QueueState> states, bool senders, [EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var e in store.Entries)
        {
            if (!states.Contains(e.State)) continue;
            QueuedMessage? m;
            try { m = await store.ReadAsync(e, ct).ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException) { continue; }
            if (m is null) continue;
            var domains = new List<string>(senders ? 1 : m.Recipients.Count);
            foreach (var r in m.Recipients)
            {
                if (e.IsRecipientDone(r.Index)) continue;
                if (senders) { domains.Add(QshapeTable.Domain(m.Sender)); break; }
                domains.Add(QshapeTable.Domain(r.Address));
            }
            if (domains.Count > 0) yield return (Math.DivRem(m.ArrivalUnixMs, 1000).Quotient, domains);
        }
    }

    public static string FormatLine(long arrivalSeconds, List<string> domains) =>
        arrivalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\t" + string.Join('\t', domains);

    public static bool TryParseLine(string line, out long arrivalSeconds, out string[] domains)
    {
        var parts = line.Split('\t');
        domains = parts[1..];
        return long.TryParse(parts[0], System.Globalization.NumberStyles.AllowLeadingSign,
            System.Globalization.CultureInfo.InvariantCulture, out arrivalSeconds) && domains.Length > 0;
    }
}
