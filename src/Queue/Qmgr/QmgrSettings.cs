// The qmgr(8) parameters the scheduler uses (Postfix names and defaults).
namespace Postfix.Queue.Qmgr;

public sealed class QmgrSettings
{
    public int InitialDestinationConcurrency { get; init; } = 5;
    public int DestinationConcurrencyLimit { get; init; } = 20;
    public int DestinationRecipientLimit { get; init; } = 50;
    public int FailedCohortLimit { get; init; } = 1;
    public int ProcessLimit { get; init; } = 100;
    public int MessageActiveLimit { get; init; } = 20000;
    public TimeSpan MinimalBackoffTime { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan MaximalBackoffTime { get; init; } = TimeSpan.FromSeconds(4000);
    public TimeSpan QueueRunDelay { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan MaximalQueueLifetime { get; init; } = TimeSpan.FromDays(5);
    public TimeSpan BounceQueueLifetime { get; init; } = TimeSpan.FromDays(5);
    /// <summary>delay_warning_time: 0 = no "delayed mail" notices (Postfix default).</summary>
    public TimeSpan DelayWarningTime { get; init; } = TimeSpan.Zero;
    public IReadOnlyList<string> DeferTransports { get; init; } = [];
}
