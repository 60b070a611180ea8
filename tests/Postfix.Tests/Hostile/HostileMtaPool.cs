// Test fixture: the real MTAs the hostile-input corpus runs against, one per
// distinct set of main.cf lines (a corpus file's "set" lines), started on
// first use and stopped when the test class is done. Every MTA gets the base
// lines below; the queue count of each is tracked so that every case can be
// checked for "queued exactly what it acknowledged".
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Hostile;

public sealed class HostileMtaPool : IAsyncLifetime
{
    /// <summary>
    /// Lines every corpus MTA gets: no error sleep (a case with 20 errors would
    /// otherwise sleep 10 s; the sleep changes timing only, not replies).
    /// </summary>
    public const string BaseMainCf = "smtpd_error_sleep_time = 0\n";

    private readonly Dictionary<string, MtaInstance> _mtas = new(StringComparer.Ordinal);
    private readonly Dictionary<MtaInstance, int> _queued = new();
    private readonly SemaphoreSlim _lock = new(1, 1);

    public async Task<MtaInstance> GetAsync(string mainCf)
    {
        await _lock.WaitAsync();
        try
        {
            if (!_mtas.TryGetValue(mainCf, out var mta))
            {
                mta = await MtaInstance.StartAsync(BaseMainCf + mainCf);
                _mtas[mainCf] = mta;
                _queued[mta] = await mta.QueueCountAsync();
            }
            return mta;
        }
        finally { _lock.Release(); }
    }

    /// <summary>The queue count after the previous case on this MTA.</summary>
    public int LastQueueCount(MtaInstance mta) => _queued[mta];

    public void SetQueueCount(MtaInstance mta, int count) => _queued[mta] = count;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var mta in _mtas.Values)
        {
            try { await mta.StopAsync(); }
            catch (InvalidOperationException) { }
            await mta.DisposeAsync();
        }
    }
}
