// The parameters of the cluster-wide destination limits, without a store: which limit a
// destination gets (table entry, else the transport's parameter, else the default), the
// table's value syntax, per-transport names accepted by main.cf, no gates (no cost) when
// nothing is configured, and a table that cannot answer makes deliveries wait, never "no limit".
using Postfix.Cluster;
using Postfix.Core.Config;
using Postfix.Core.Logging;
using Postfix.Core.Tables;
using Xunit;

namespace Postfix.Tests.Cluster;

public sealed class ClusterDestinationLimitsConfigTests
{
    [Fact]
    public void NothingConfiguredMeansNoGatesAtAll()
    {
        Assert.Null(ClusterDestinationLimits.FromMainCf(MainCf.Parse(""), null, Maillog.Null));
        Assert.Null(ClusterDestinationLimits.FromMainCf(MainCf.Parse("smtp_destination_cluster_rate_limit = 0"), null, Maillog.Null));
    }

    [Fact]
    public async Task TableEntryThenTransportParameterThenDefault()
    {
        var main = MainCf.Parse("""
            default_destination_cluster_concurrency_limit = 7
            relay_destination_cluster_concurrency_limit = 3
            smtp_destination_cluster_rate_limit = 600
            cluster_destination_limit_maps = inline:{ smtp:[mx.big.example]:25 = concurrency=2 rate=120, big2.example = rate=60 }
            """);
        await using var limits = ClusterDestinationLimits.FromMainCf(main, null, Maillog.Null);
        Assert.NotNull(limits);
        Assert.Equal((2, 120), limits.LimitsOf("smtp", "[mx.big.example]:25"));
        Assert.Equal((0, 60), limits.LimitsOf("smtp", "big2.example"));
        Assert.Equal((7, 600), limits.LimitsOf("smtp", "other.example"));
        Assert.Equal((3, 0), limits.LimitsOf("relay", "other.example"));
        Assert.Equal((7, 0), limits.LimitsOf("lmtp", "other.example"));
        Assert.NotNull(limits.For("relay", "other.example"));
    }

    [Theory]
    [InlineData("concurrency=2 rate=60", true, 2, 60)]
    [InlineData("rate=10", true, 0, 10)]
    [InlineData("concurrency=5,rate=0", true, 5, 0)]
    [InlineData("concurrency=-1", false, 0, 0)]
    [InlineData("speed=3", false, 0, 0)]
    [InlineData("", false, 0, 0)]
    public void TableValueSyntax(string value, bool ok, int concurrency, int rate)
    {
        Assert.Equal(ok, ClusterDestinationLimits.TryParseLimits(value, out int c, out int r));
        if (ok) Assert.Equal((concurrency, rate), (c, r));
    }

    [Fact]
    public void PerTransportNamesAreKnownAndNegativeValuesAreConfigErrors()
    {
        Assert.True(ParameterDefaults.IsKnown("relay_destination_cluster_concurrency_limit"));
        Assert.True(ParameterDefaults.IsKnown("smtp_destination_cluster_rate_limit"));
        Assert.False(ParameterDefaults.IsKnown("smtp_destination_cluster_speed_limit"));
        var e = Assert.Throws<ConfigException>(() => ClusterDestinationLimits.Check(MainCf.Parse("smtp_destination_cluster_rate_limit = -5")));
        Assert.Contains("smtp_destination_cluster_rate_limit", e.Message);
    }

    // A table that cannot answer while Down is set (a redis: table with its store down).
    private sealed class FlakyTable(string value) : ILookupTable
    {
        public static volatile bool Down;
        public string Name => "limits-flaky:test";

        public bool TryLookup(scoped ReadOnlySpan<byte> key, out ReadOnlySpan<byte> result)
        {
            if (Down) throw new TableLookupException("limits-flaky:test: store unreachable");
            bool hit = key.SequenceEqual("big.example"u8);
            result = hit ? System.Text.Encoding.ASCII.GetBytes(value) : default;
            return hit;
        }
    }

    [Fact]
    public async Task TableThatCannotAnswerMakesDeliveriesWaitUntilItDoes()
    {
        LookupTables.Register("limits-flaky", (_, _, _) => new FlakyTable("concurrency=1"));
        FlakyTable.Down = true;
        var lines = new StringWriter();
        var log = new Maillog(lines, "mx", "postfix");
        await using var limits = ClusterDestinationLimits.FromMainCf(
            MainCf.Parse("cluster_destination_limit_maps = limits-flaky:test"), null, log);
        Assert.NotNull(limits);
        var big = limits.For("smtp", "big.example");
        var other = limits.For("smtp", "other.example");
        Assert.NotNull(big);
        Assert.NotNull(other);

        // Down: no permit, a retry instead (the mail waits in the active queue).
        var refused = await big.TryEnterAsync();
        Assert.False(refused.Granted);
        Assert.True(refused.RetryAfter > TimeSpan.Zero);
        Assert.False((await other.TryEnterAsync()).Granted);

        // Up again: the table's limit applies (concurrency 1), and a destination it does not
        // list has none.
        FlakyTable.Down = false;
        var first = await big.TryEnterAsync();
        Assert.True(first.Granted);
        Assert.False((await big.TryEnterAsync()).Granted);
        await first.Lease!.DisposeAsync();
        var again = await big.TryEnterAsync();
        Assert.True(again.Granted);
        await again.Lease!.DisposeAsync();
        for (int i = 0; i < 3; i++) Assert.True((await other.TryEnterAsync()).Granted);

        await log.FlushAsync();
        Assert.Contains("cluster_destination_limit_maps: smtp:big.example: limits-flaky:test: store unreachable; deliveries wait until the table answers", lines.ToString());
    }
}
