// Socket completions inline on the runtime's event threads
// (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1, read once, when the first socket is made).
// The code after an awaited socket read then runs on the epoll thread that saw the data,
// instead of in a thread-pool work item that wakes another thread. With Kestrel's
// UnsafePreferInlineScheduling, smtpd reads, parses and answers a command, and sends the
// reply, in one turn of one thread. On the 2-core box that is ~11% less CPU per relayed
// message (alternating runs of 30,000 messages: 461-468 us against 522-524 us), and the
// context switches per message go down (perf-results/relay.md).
//
// It is safe only while nothing on such a path blocks. What runs there answers from memory
// (built-in tables, the queue's group commit is awaited, the maillog is a channel); what may
// block moves to the pool first (ThreadPoolHop): every delivery agent run (mailbox writes and
// fsync), and, once a table of a registered type is open (redis: lookups are synchronous
// round trips), smtpd and qmqpd command handling and qmgr's bookkeeping after a delivery.
// A configuration that names such a type at start keeps completions in the pool altogether:
// a lookup that blocked an event thread could be waiting for a reply that only that thread
// would read. The operator's own DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS (any value) wins.
//
// Event threads: the runtime makes one per CPU when completions are inline. Each then does
// the protocol work itself, and on the 2-core box one thread for both CPUs was ~14% cheaper
// again per relayed message (alternating runs of 30,000: 447-460 us against 489-546 us):
// the other CPU stays free for the commit loop, the pool and the peers, with fewer context
// switches. We make half as many as CPUs (at least one); only the 2-core case is measured.
// DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT in the environment wins.
using Postfix.Core.Tables;

namespace Postfix.Host.Master;

internal static class SocketThreads
{
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
    public const string ThreadCountVariable = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    /// <summary>Event threads when completions are inline and the operator did not say.</summary>
    public static int DefaultEventThreads => Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Turns inline completions on unless the operator chose, or the configuration names a
    /// possibly blocking table type; call before the daemon makes its first socket. Returns the
    /// maillog line that says which, or null when the operator's environment decides.</summary>
    public static string? Choose(MasterConfig cfg)
    {
        if (Environment.GetEnvironmentVariable(Variable) is not null) return null;
        if (LookupTables.MayBlock || NamesRegisteredType(cfg))
            return "a table type that answers over the network is configured: socket completions run in the thread pool";
        Environment.SetEnvironmentVariable(Variable, "1");
        if (!int.TryParse(Environment.GetEnvironmentVariable(ThreadCountVariable), out int threads) || threads < 1)
        {
            threads = DefaultEventThreads;
            Environment.SetEnvironmentVariable(ThreadCountVariable, threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return $"socket completions run inline on {threads} event thread{(threads == 1 ? "" : "s")}";
    }

    // The values as loaded (main.cf and master.cf's -o overrides), not the files read again.
    private static bool NamesRegisteredType(MasterConfig cfg) =>
        cfg.Main.AllRaw.Any(p => LookupTables.MentionsRegisteredType(p.Value))
        || cfg.Master.Services.Any(s => s.Overrides.Values.Any(LookupTables.MentionsRegisteredType));
}
