// How hard a delivery tries to lock a UNIX mailbox (postconf(5):
// deliver_lock_attempts, deliver_lock_delay, stale_lock_time).
// Trusted operator configuration.
namespace Postfix.Core.Mailbox;

public sealed record MboxLockSettings(MboxLockKinds Kinds, int Attempts, TimeSpan Delay, TimeSpan StaleTime)
{
    public static MboxLockSettings Default { get; } =
        new(MboxLockKinds.Fcntl | MboxLockKinds.Dotlock, 20, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(500));
}
