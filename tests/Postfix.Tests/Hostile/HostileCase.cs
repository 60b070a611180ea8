// One hostile-input case parsed from a corpus file: its steps in order, how
// many messages it must queue, and the main.cf lines of the MTA it runs on
// (the file's "set" lines). Test data, trusted.
namespace Postfix.Tests.Hostile;

public sealed record HostileCase(
    string File,
    string Name,
    int Line,
    IReadOnlyList<HostileStep> Steps,
    int Queued,
    string MainCf)
{
    public string Id => $"{File}: {Name}";

    public override string ToString() => Id;
}
