// ./postfix explain, run as an operator would: each rewriting and routing
// step for an address, naming the table and key that matched.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Host;

public class ExplainCommandTests
{
    [Fact]
    public async Task ShowsEachStepWithTableAndKey()
    {
        await using var mta = MtaInstance.Prepare("""
            mydomain = example.com
            myorigin = $mydomain
            mydestination = localhost, $mydomain
            canonical_maps = inline:{ @legacy.example=@example.com }
            virtual_alias_maps = inline:{ {team@example.com = alice, bob@partner.example} }
            sender_bcc_maps = inline:{ @example.com=archive@example.com }
            alias_maps = inline:{ alice=alice.smith }
            relayhost = [smarthost.example]:587
            """);
        var r = await mta.PostfixAsync("explain", "-f", "dave", "team@legacy.example");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToList();
        Assert.Equal("explain <team@legacy.example>", lines[0]);
        Assert.Contains("1. cleanup: canonical_maps: <team@legacy.example> key \"@legacy.example\" -> team@example.com", lines);
        Assert.Contains("2. cleanup: virtual_alias_maps: <team@example.com> key \"team@example.com\" -> alice@example.com, bob@partner.example", lines);
        Assert.Contains("3. cleanup: sender_bcc_maps: <dave@example.com> key \"@example.com\" -> archive@example.com", lines);
        Assert.Contains("4. final recipients: alice@example.com, bob@partner.example, archive@example.com", lines);
        Assert.Contains(lines, l => l.StartsWith("5. trivial-rewrite: <alice@example.com>: address class local, local:"));
        Assert.Contains("6. local: alias_maps key \"alice\" -> alice.smith", lines);
        Assert.Contains("7. trivial-rewrite: <bob@partner.example>: address class default, smtp:[smarthost.example]:587 (held: transport in defer_transports)", lines);
    }

    [Fact]
    public async Task NoMapsAndBadUsage()
    {
        await using var mta = MtaInstance.Prepare("relayhost = [127.0.0.1]:2599");
        var r = await mta.PostfixAsync("explain", "user@remote.example");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("1. cleanup: no canonical, virtual alias or bcc maps configured", r.Stdout);
        Assert.Contains("address class default, smtp:[127.0.0.1]:2599", r.Stdout);
        var bad = await mta.PostfixAsync("explain");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("explain: give one or more addresses", bad.Stderr);
    }
}
