// The queue's group commit keeps its own waiters: the commit loop releases every session its
// commit covers, and a watchdog (not a timer per wait) fails the waiters of a commit the disk
// does not finish within the timeout, and later ones at once, until the disk answers again.
// A device whose writes can be held back stands in for a disk that hangs.
using System.Text;
using FASTER.core;
using Postfix.Core.Queue;
using Postfix.Queue.Store;
using Xunit;

namespace Postfix.Tests.Queue;

public sealed class QueueCommitterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qcommit-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    /// <summary>An in-memory log device whose writes wait while <see cref="Open"/> is reset.</summary>
    private sealed class GatedDevice() : StorageDeviceBase("gated", 512, 1L << 26)
    {
        private readonly LocalMemoryDevice _inner = new(1L << 26, 1L << 22, 2, 0, 512, "gated");
        public readonly ManualResetEventSlim Open = new(true);

        public override void Initialize(long segmentSize, LightEpoch? epoch = null, bool omitSegmentIdFromFilename = false)
        {
            base.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
            _inner.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
        }

        public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite,
            DeviceIOCompletionCallback callback, object context)
        {
            if (Open.IsSet)
            {
                _inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);
                return;
            }
            _ = Task.Run(() =>
            {
                Open.Wait(TimeSpan.FromSeconds(60));
                _inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);
            });
        }

        public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength,
            DeviceIOCompletionCallback callback, object context) =>
            _inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);

        public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result) =>
            _inner.RemoveSegmentAsync(segment, callback, result);

        public override void Dispose() => _inner.Dispose();
    }

    // The first commit of a new log takes seconds here (the commit metadata's files are set
    // up), longer than the hang test's timeout: done before the committer starts.
    private FasterLog NewLog(IDevice device)
    {
        var log = NewLogUnwarmed(device);
        Append(log, -1);
        log.Commit(spinWait: true);
        return log;
    }

    private FasterLog NewLogUnwarmed(IDevice device) => new(new FasterLogSettings
    {
        LogDevice = device,
        LogCommitDir = _dir,
        PageSizeBits = 16,
        MemorySizeBits = 20,
        SegmentSizeBits = 22, // the in-memory device's segment: 4 MB, not FASTER's default 1 GB
        FastCommitMode = true,
        AutoRefreshSafeTailAddress = false,
    });

    private static long Append(FasterLog log, int n)
    {
        var bytes = Encoding.ASCII.GetBytes($"record {n} " + new string('x', 200));
        Assert.True(log.TryEnqueue(bytes, out long address));
        return address;
    }

    [Fact]
    public async Task ConcurrentWaitersAreAllReleasedByTheCommitsThatCoverThem()
    {
        using var device = new GatedDevice();
        using var log = NewLog(device);
        var committer = new QueueCommitter(log, TimeSpan.FromSeconds(30));
        committer.Start();
        try
        {
            var addresses = new long[200];
            await Task.WhenAll(Enumerable.Range(0, addresses.Length).Select(i => Task.Run(async () =>
            {
                addresses[i] = Append(log, i);
                await committer.WaitForCommitAsync(addresses[i] + 1, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                // Released only once durable.
                Assert.True(log.CommittedUntilAddress > addresses[i]);
            })));
            Assert.True(log.CommittedUntilAddress > addresses.Max());
        }
        finally { await committer.StopAsync(); }
    }

    [Fact]
    public async Task AHungCommitFailsItsWaitersAfterTheTimeoutAndLaterOnesAtOnceUntilTheDiskAnswers()
    {
        using var device = new GatedDevice();
        using var log = NewLog(device);
        var committer = new QueueCommitter(log, TimeSpan.FromSeconds(2));
        committer.Start();
        try
        {
            // The disk answers: a waiter is released.
            await committer.WaitForCommitAsync(Append(log, 0) + 1, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

            device.Open.Reset();
            var started = DateTime.UtcNow;
            var hung = committer.WaitForCommitAsync(Append(log, 1) + 1, CancellationToken.None).AsTask();
            var e = await Assert.ThrowsAsync<QueueWriteException>(() => hung.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal("timed out waiting for the queue commit", e.Message);
            Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(1.5), "failed before the timeout");

            // Still hung: the next waiter is refused at once, not after another timeout.
            var refused = await Assert.ThrowsAsync<QueueWriteException>(async () =>
                await committer.WaitForCommitAsync(Append(log, 2) + 1, CancellationToken.None));
            Assert.Equal("timed out waiting for the queue commit", refused.Message);

            // The disk answers again: the held commit completes and new waiters are released.
            device.Open.Set();
            long last = Append(log, 3);
            Exception? error = null;
            for (int attempt = 0; attempt < 100; attempt++)
            {
                try
                {
                    await committer.WaitForCommitAsync(last + 1, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                    error = null;
                    break;
                }
                catch (QueueWriteException ex) { error = ex; await Task.Delay(100); } // the held commit is finishing
            }
            Assert.Null(error);
            Assert.True(log.CommittedUntilAddress > last);
        }
        finally
        {
            device.Open.Set();
            await committer.StopAsync();
        }
    }
}
