// Idle connections kept for the next message to the same next hop (Postfix
// scache(8) with smtp_connection_cache_time_limit and
// smtp_connection_reuse_time_limit). A connection is in the cache only while
// nobody uses it: Take hands it out exclusively, Put returns it. Newest first,
// so the oldest age out. One sweeper timer closes expired ones with QUIT. The
// total number of idle connections is bounded.
using System.Collections.Concurrent;

namespace Postfix.Protocols.Smtp;

internal sealed class SmtpConnectionCache : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly SmtpClientSettings _settings;
    private readonly Timer _sweeper;
    private readonly long _idleLimitMs;
    private readonly long _reuseLimitMs;
    private int _count;
    private volatile bool _disposed;

    public SmtpConnectionCache(SmtpClientSettings settings)
    {
        _settings = settings;
        _idleLimitMs = (long)settings.ConnectionCacheTimeLimit.TotalMilliseconds;
        _reuseLimitMs = (long)settings.ConnectionReuseTimeLimit.TotalMilliseconds;
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_idleLimitMs / 2, 50, 1000));
        _sweeper = new Timer(static s => ((SmtpConnectionCache)s!).Sweep(), this, period, period);
    }

    /// <summary>Idle connections now held.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>A live idle connection for <paramref name="key"/>, or null.</summary>
    public SmtpConnection? Take(string key)
    {
        if (!_buckets.TryGetValue(key, out var bucket)) return null;
        while (true)
        {
            SmtpConnection? c;
            lock (bucket)
            {
                if (bucket.Idle.Count == 0) return null;
                c = bucket.Idle[^1];
                bucket.Idle.RemoveAt(bucket.Idle.Count - 1);
            }
            Interlocked.Decrement(ref _count);
            if (Usable(c, Environment.TickCount64) && !c.PeerHasSpoken()) return c;
            Close(c);
        }
    }

    /// <summary>Keeps <paramref name="c"/> (after a successful RSET) or closes it when the cache is full.</summary>
    public void Put(string key, SmtpConnection c)
    {
        long now = Environment.TickCount64;
        c.LastUsed = now;
        if (_disposed || c.Broken || now - c.CreatedAt >= _reuseLimitMs)
        {
            Close(c);
            return;
        }
        if (Interlocked.Increment(ref _count) > _settings.ConnectionCacheLimit)
        {
            Interlocked.Decrement(ref _count);
            Close(c);
            return;
        }
        var bucket = _buckets.GetOrAdd(key, static _ => new Bucket());
        lock (bucket) bucket.Idle.Add(c);
        if (_disposed && Take(key) is { } late) Close(late); // raced with DisposeAsync
    }

    private bool Usable(SmtpConnection c, long now) =>
        now - c.LastUsed < _idleLimitMs && now - c.CreatedAt < _reuseLimitMs && !c.Broken;

    private void Sweep()
    {
        long now = Environment.TickCount64;
        foreach (var (_, bucket) in _buckets)
        {
            List<SmtpConnection>? expired = null;
            lock (bucket)
            {
                for (int i = bucket.Idle.Count - 1; i >= 0; i--)
                {
                    var c = bucket.Idle[i];
                    if (Usable(c, now)) continue;
                    (expired ??= []).Add(c);
                    bucket.Idle.RemoveAt(i);
                }
            }
            if (expired == null) continue;
            foreach (var c in expired)
            {
                Interlocked.Decrement(ref _count);
                Close(c);
            }
        }
    }

    private void Close(SmtpConnection c) => _ = c.QuitAsync(_settings.QuitTimeout).AsTask();

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        var all = new List<SmtpConnection>();
        foreach (var (_, bucket) in _buckets)
            lock (bucket)
            {
                all.AddRange(bucket.Idle);
                bucket.Idle.Clear();
            }
        Interlocked.Exchange(ref _count, 0);
        await Task.WhenAll(all.Select(c => c.QuitAsync(_settings.QuitTimeout).AsTask())).ConfigureAwait(false);
    }

    private sealed class Bucket
    {
        public readonly List<SmtpConnection> Idle = [];
    }
}
