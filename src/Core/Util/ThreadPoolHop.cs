// The daemon runs socket completions inline (see the host's SocketThreads): the code after
// an awaited socket read runs on the runtime's event (epoll) thread, which serves every
// socket assigned to it. Code that may block that thread — a synchronous lookup in a table
// kept on the network (redis:), file I/O and fsync in local or virtual delivery — first
// moves to a thread-pool thread:
//
//     await ThreadPoolHop.Always;                            // before a delivery agent runs
//     await ThreadPoolHop.If(LookupTables.MayBlock);         // before table lookups
//
// On a thread-pool thread (or when not needed) the await completes at once and costs a
// property read; elsewhere it queues the continuation to the pool. A pool thread that runs
// other work's continuations in turn (the queue's commit loop releasing its waiters) marks
// itself with MustNotBlock, and counts as elsewhere meanwhile.
using System.Runtime.CompilerServices;

namespace Postfix.Core.Util;

public readonly struct ThreadPoolHop(bool needed) : ICriticalNotifyCompletion
{
    /// <summary>Continue on a thread-pool thread.</summary>
    public static ThreadPoolHop Always => new(true);

    /// <summary>Continue on a thread-pool thread when <paramref name="needed"/>.</summary>
    public static ThreadPoolHop If(bool needed) => new(needed);

    public ThreadPoolHop GetAwaiter() => this;

    public bool IsCompleted => !needed || (Thread.CurrentThread.IsThreadPoolThread && !t_mustNotBlock);

    [ThreadStatic] private static bool t_mustNotBlock;

    /// <summary>Until disposed, hops on this thread move to the pool even though it is a pool thread.</summary>
    public static MustNotBlockScope MustNotBlock()
    {
        bool outer = t_mustNotBlock;
        t_mustNotBlock = true;
        return new MustNotBlockScope(outer);
    }

    public readonly struct MustNotBlockScope(bool outer) : IDisposable
    {
        public void Dispose() => t_mustNotBlock = outer;
    }

    public void GetResult() { }

    public void OnCompleted(Action continuation) =>
        ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

    public void UnsafeOnCompleted(Action continuation) =>
        ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
}
