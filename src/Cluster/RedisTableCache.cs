// The answers of one redis: table kept for cache_ttl: hits and misses alike (a miss costs a
// store round trip just as a hit does), at most cache_size keys. A lookup that finds a fresh
// entry allocates nothing: the dictionary is probed with the key's bytes (an alternate lookup),
// and the value is an immutable array shared by every reader. When the cache is full, expired
// entries are swept, and if that frees nothing the cache starts over empty (simple, bounded,
// and the store is the truth anyway). Keys are untrusted bytes, compared exactly.
using System.Collections.Concurrent;
using System.IO.Hashing;

namespace Postfix.Cluster;

internal sealed class RedisTableCache(TimeSpan ttl, int capacity)
{
    /// <summary>One answer: the value (null = not found) and when it stops being fresh (Environment.TickCount64).</summary>
    internal sealed class Entry(byte[]? value, long expires)
    {
        public byte[]? Value { get; } = value;
        public long Expires { get; } = expires;
    }

    private readonly ConcurrentDictionary<byte[], Entry> _entries = new(KeyComparer.Instance);
    private readonly long _ttlMs = (long)ttl.TotalMilliseconds;
    private int _count;

    public bool Enabled => _ttlMs > 0 && capacity > 0;

    /// <summary>A fresh entry for <paramref name="key"/>, or null.</summary>
    public Entry? Find(ReadOnlySpan<byte> key)
    {
        if (!Enabled) return null;
        var lookup = _entries.GetAlternateLookup<ReadOnlySpan<byte>>();
        return lookup.TryGetValue(key, out var e) && e.Expires - Environment.TickCount64 > 0 ? e : null;
    }

    public void Add(ReadOnlySpan<byte> key, byte[]? value)
    {
        if (!Enabled) return;
        var entry = new Entry(value, Environment.TickCount64 + _ttlMs);
        var lookup = _entries.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (lookup.TryGetValue(key, out _))
        {
            lookup[key] = entry;
            return;
        }
        if (Volatile.Read(ref _count) >= capacity) MakeRoom();
        if (lookup.TryAdd(key, entry)) Interlocked.Increment(ref _count);
        else lookup[key] = entry;
    }

    public int Count => Volatile.Read(ref _count);

    private void MakeRoom()
    {
        long now = Environment.TickCount64;
        foreach (var (k, e) in _entries)
            if (e.Expires - now <= 0 && _entries.TryRemove(k, out _)) Interlocked.Decrement(ref _count);
        if (Volatile.Read(ref _count) < capacity) return;
        _entries.Clear();
        Volatile.Write(ref _count, 0);
    }

    private sealed class KeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly KeyComparer Instance = new();

        // Keys come from mail: a per-process seed keeps crafted collisions from piling into one bucket.
        private static readonly long Seed = Random.Shared.NextInt64();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] key) => GetHashCode((ReadOnlySpan<byte>)key);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => (int)XxHash3.HashToUInt64(alternate, Seed);

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
