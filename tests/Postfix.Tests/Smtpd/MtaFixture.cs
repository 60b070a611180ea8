// Test helper: one real MTA process (./postfix start-fg with its own config,
// port, queue and maillog) shared by all tests of a class through
// IClassFixture. Subclasses give the main.cf lines their class needs.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Smtpd;

public abstract class MtaFixture : IAsyncLifetime
{
    private MtaInstance? _mta;

    /// <summary>Lines appended to the fixture's main.cf.</summary>
    protected virtual string MainCfExtra => "";

    public MtaInstance Mta => _mta ?? throw new InvalidOperationException("MTA not started");

    public int Port => Mta.Port;

    public async Task InitializeAsync() => _mta = await MtaInstance.StartAsync(MainCfExtra);

    public async Task DisposeAsync()
    {
        if (_mta is null) return;
        try { await _mta.StopAsync(); }
        catch (InvalidOperationException) { }
        await _mta.DisposeAsync();
    }

    /// <summary>Waits (bounded) until the maillog contains <paramref name="text"/>; returns the maillog.</summary>
    public async Task<string> WaitForMaillogAsync(string text, int seconds = 10)
    {
        await Repo.WaitUntilAsync(() => Mta.Maillog.Contains(text), TimeSpan.FromSeconds(seconds));
        return Mta.Maillog;
    }
}
