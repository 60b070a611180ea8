// Progress of a long master(8) start-up step (queue recovery) as maillog lines.
// Synchronous on purpose: Progress<T> posts each report to the thread pool, so
// the lines could reach the log out of order, the final count before the last
// periodic one. The reports come from our own code; nothing here is untrusted.
using Postfix.Core.Logging;

namespace Postfix.Host.Master;

internal sealed class MaillogProgress(Maillog log, string daemon) : IProgress<string>
{
    public void Report(string value) => log.Info(daemon, value);
}
