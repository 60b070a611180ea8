// One master.cf service entry (man 5 master; Postfix master_ent.c): the eight columns plus
// command arguments, with "-o name=value" main.cf overrides split out. Parsed from trusted config.
namespace Postfix.Core.Config;

public sealed record MasterService
{
    /// <summary>Service name: [host:]port for inet, a socket name otherwise.</summary>
    public required string Name { get; init; }

    public required MasterServiceType Type { get; init; }

    /// <summary>Private column (default y); always false for inet services, which can't be private.</summary>
    public required bool Private { get; init; }

    /// <summary>Unprivileged column (default y).</summary>
    public required bool Unprivileged { get; init; }

    /// <summary>Chroot column (default n, as in Postfix &gt;= 3.0).</summary>
    public required bool Chroot { get; init; }

    /// <summary>Wake-up interval in seconds; 0 = no automatic wake-up.</summary>
    public required int Wakeup { get; init; }

    /// <summary>True when the wake-up field ended in "?" (wake only after the first use).</summary>
    public bool WakeupOnlyIfUsed { get; init; }

    /// <summary>Process limit; null = "-" ($default_process_limit), 0 = no limit.</summary>
    public required int? MaxProc { get; init; }

    /// <summary>The daemon command name (e.g. "smtpd").</summary>
    public required string Command { get; init; }

    /// <summary>Command arguments other than "-o" overrides, with "{ }" grouping removed.</summary>
    public required IReadOnlyList<string> Args { get; init; }

    /// <summary>main.cf overrides from "-o name=value" / "-o { name = value }"; later ones win.</summary>
    public required IReadOnlyDictionary<string, string> Overrides { get; init; }

    /// <summary>1-based line in master.cf where the entry starts (in the embedded text when no file).</summary>
    public required int LineNumber { get; init; }
}
