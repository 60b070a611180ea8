// qshape(1)'s knobs with its defaults: ten geometric buckets of 5 minutes and
// up, an 80-column layout, parent domains shown from 5 subdomains. Values come
// from the command line, already range-checked by QshapeCommand.
namespace Postfix.Host.Commands;

public sealed record QshapeOptions
{
    /// <summary>-s: sender domains (one per message) instead of recipient domains.</summary>
    public bool Senders { get; init; }
    /// <summary>-p: also count parent domains (".example.com").</summary>
    public bool Parents { get; init; }
    /// <summary>-m: a parent domain is shown with at least this many subdomains.</summary>
    public int MinSubdomains { get; init; } = 5;
    /// <summary>-b: number of age buckets; the last has no upper bound.</summary>
    public int Buckets { get; init; } = 10;
    /// <summary>-t: upper age of the first bucket, minutes.</summary>
    public int BucketMinutes { get; init; } = 5;
    /// <summary>-l: bucket limits are multiples of -t instead of doubling.</summary>
    public bool Linear { get; init; }
    /// <summary>-w: the last column ends at this column.</summary>
    public int Width { get; init; } = 80;
    /// <summary>-n: on a terminal, rows shown (TOTAL included); 0 = all.</summary>
    public int TopDomains { get; init; }
}
