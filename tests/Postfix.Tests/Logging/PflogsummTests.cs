// Our maillog read by Postfix's own log summarizer, pflogsumm (Debian package
// pflogsumm, /usr/sbin/pflogsumm): its Grand Totals must count exactly what the
// test made the MTA do. pflogsumm parses syslog-style lines
// ("Mon dd hh:mm:ss host postfix/daemon[pid]: QUEUEID: ...") and counts
//   received  = smtpd "QUEUEID: client=..." lines (+ pickup "sender=|uid=" lines);
//               qmgr "from=<..>, size=N" lines only give sizes, so a bounce
//               notice, which enters the queue through bounce/cleanup with
//               neither line, is not "received" (as with Postfix itself)
//   delivered = "to=<..>, relay=.., delay=.., [delays=.., dsn=..,] status=sent" lines
//   deferred  = distinct queue IDs with a status=deferred line; "(N deferrals)" = all such lines
//   bounced   = status=bounced lines
//   rejected  = smtpd "reject:" lines (and cleanup header/body rejects)
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Logging;

public sealed partial class PflogsummTests
{
    private const string Sender = "alice@mx.test.example"; // local (mydestination): notices to it stay queued (defer_transports = local)

    // Nothing is retried inside the test's time, so each deferred message is deferred exactly once.
    private const string NoRetries = """
        minimal_backoff_time = 3600s
        maximal_backoff_time = 7200s
        queue_run_delay = 3600s
        """;

    [Fact]
    public async Task PflogsummCountsMatchWhatTheTestSent()
    {
        const int n1 = 20, n2 = 5, n3 = 3; // delivered, deferred by the next hop (450), bounced by it (550)
        await using var next = new RoutingSmtpServer();
        await using var mta = await MtaInstance.StartAsync($"""
            defer_transports = local
            relayhost = [127.0.0.1]:{next.Port}
            {NoRetries}
            """);

        var rcpts = Enumerable.Range(0, n1).Select(i => $"ok{i}@example.net")
            .Concat(Enumerable.Range(0, n2).Select(i => $"defer{i}@example.net"))
            .Concat(Enumerable.Range(0, n3).Select(i => $"bounce{i}@example.net")).ToList();
        await SendEachAsOwnMessageAsync(mta, rcpts);

        var log = await WaitForLogCountsAsync(mta, TimeSpan.FromSeconds(60),
            (@"postfix/smtp\[\d+\]: \w+: to=<ok\d+@example\.net>, .*status=sent ", n1),
            (@"postfix/smtp\[\d+\]: \w+: to=<defer\d+@example\.net>, .*status=deferred ", n2),
            (@"postfix/smtp\[\d+\]: \w+: to=<bounce\d+@example\.net>, .*status=bounced ", n3),
            (@"postfix/bounce\[\d+\]: \w+: sender non-delivery notification: \w+", n3),
            // Each notice goes to the local sender; defer_transports keeps it from local(8): deferred once.
            ($@"postfix/\w+\[\d+\]: \w+: to=<{Regex.Escape(Sender)}>, .*status=deferred ", n3),
            (@"postfix/qmgr\[\d+\]: \w+: removed", n1 + n3));
        Assert.Equal(n1, next.MessagesAccepted);
        await mta.StopAsync();

        var totals = await RunPflogsummAsync(mta.MaillogPath, "--detail", "0");
        var ctx = $"pflogsumm:\n{totals.Output}\nmaillog:\n{mta.Maillog}";
        // received: one smtpd client= line per message the test sent; the n3 bounce
        // notices are queued internally (no smtpd/pickup line), so they are not counted.
        Assert.True(n1 + n2 + n3 == totals.Received, $"received {totals.Received} != {n1 + n2 + n3}\n{ctx}");
        Assert.True(n1 == totals.Delivered, $"delivered {totals.Delivered} != {n1}\n{ctx}");
        // deferred: the n2 messages the next hop answered 450, plus the n3 bounce notices
        // (local transport deferred); with no retries each is deferred exactly once.
        Assert.True(n2 + n3 == totals.Deferred, $"deferred {totals.Deferred} != {n2 + n3}\n{ctx}");
        Assert.True(n2 + n3 == totals.Deferrals, $"deferrals {totals.Deferrals} != {n2 + n3}\n{ctx}");
        Assert.True(n3 == totals.Bounced, $"bounced {totals.Bounced} != {n3}\n{ctx}");
        Assert.True(0 == totals.Rejected, $"rejected {totals.Rejected} != 0\n{ctx}");
        Assert.True(0 == totals.Forwarded, $"forwarded {totals.Forwarded} != 0\n{ctx}");
        // Every status line's queue ID had its qmgr from=<>, size= line before it.
        Assert.DoesNotContain("Messages with no size data", totals.Output);
        // One sender in one domain; the n1 delivered recipients are distinct, in one domain.
        Assert.True(1 == totals.Get("senders") && 1 == totals.Get("sending hosts/domains"), ctx);
        Assert.True(n1 == totals.Get("recipients") && 1 == totals.Get("recipient hosts/domains"), ctx);
    }

    [Fact]
    public async Task PflogsummSeesNoProblemsOnCleanRun()
    {
        const int n = 10;
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await MtaInstance.StartAsync($"""
            defer_transports =
            relayhost = [127.0.0.1]:{sink.Port}
            """);
        await SendEachAsOwnMessageAsync(mta, Enumerable.Range(0, n).Select(i => $"rcpt{i}@example.net").ToList());
        await WaitForLogCountsAsync(mta, TimeSpan.FromSeconds(60),
            (@"postfix/smtp\[\d+\]: \w+: to=<rcpt\d+@example\.net>, .*status=sent ", n),
            (@"postfix/qmgr\[\d+\]: \w+: removed", n));
        await Relay.RelayTests.WaitForEmptyQueueAsync(mta, TimeSpan.FromSeconds(60));
        Assert.Equal(n, sink.Transactions);
        await mta.StopAsync();

        // All detail off except the warnings section, so "Warnings: none" is printed when there are none
        // (Fatal Errors and Panics are always printed).
        var totals = await RunPflogsummAsync(mta.MaillogPath, "--detail", "0", "--smtpd-warning-detail", "100");
        var ctx = $"pflogsumm:\n{totals.Output}\nmaillog:\n{mta.Maillog}";
        Assert.True(n == totals.Received, $"received {totals.Received} != {n}\n{ctx}");
        Assert.True(n == totals.Delivered, $"delivered {totals.Delivered} != {n}\n{ctx}");
        Assert.True(0 == totals.Deferred && 0 == totals.Deferrals, $"deferred {totals.Deferred} ({totals.Deferrals} deferrals) != 0\n{ctx}");
        Assert.True(0 == totals.Bounced, $"bounced {totals.Bounced} != 0\n{ctx}");
        Assert.True(0 == totals.Rejected, $"rejected {totals.Rejected} != 0\n{ctx}");
        Assert.True(0 == totals.Get("reject warnings") && 0 == totals.Get("held") && 0 == totals.Get("discarded"), ctx);
        Assert.True(totals.Output.Contains("\nWarnings: none\n"), ctx);
        Assert.True(totals.Output.Contains("\nFatal Errors: none\n"), ctx);
        Assert.True(totals.Output.Contains("\nPanics: none\n"), ctx);
        Assert.DoesNotContain("Messages with no size data", totals.Output);
    }

    private static async Task SendEachAsOwnMessageAsync(MtaInstance mta, IReadOnlyList<string> rcpts)
    {
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
        Assert.StartsWith("220", await c.ReadReplyAsync());
        await c.SendAsync("EHLO client.test\r\n");
        Assert.StartsWith("250", await c.ReadReplyAsync());
        for (int i = 0; i < rcpts.Count; i++)
            await c.SendMessageAsync(Sender, rcpts[i], $"Subject: pflogsumm test {i}\r\nMessage-Id: <pflogsumm-{i}@client.test>\r\n\r\nbody {i}\r\n");
        await c.SendAsync("QUIT\r\n");
        Assert.StartsWith("221", await c.ReadReplyAsync());
    }

    /// <summary>Waits (bounded) until each pattern matches the maillog exactly the given number of times or more.</summary>
    private static async Task<string> WaitForLogCountsAsync(MtaInstance mta, TimeSpan bound, params (string Pattern, int Count)[] expect)
    {
        bool Done(string log) => expect.All(e => Regex.Matches(log, e.Pattern, RegexOptions.Multiline).Count >= e.Count);
        await Repo.WaitUntilAsync(() => Done(mta.Maillog), bound, 200);
        var log = mta.Maillog;
        foreach (var (pattern, count) in expect)
        {
            int got = Regex.Matches(log, pattern, RegexOptions.Multiline).Count;
            Assert.True(got == count, $"maillog: {got} lines match /{pattern}/, expected {count} (after {bound}):\n{log}");
        }
        return log;
    }

    private sealed record Totals(string Output, IReadOnlyDictionary<string, int> Values, int Deferrals)
    {
        public int Get(string name) => Values.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"Grand Totals lack \"{name}\":\n{Output}");
        public int Received => Get("received");
        public int Delivered => Get("delivered");
        public int Forwarded => Get("forwarded");
        public int Deferred => Get("deferred");
        public int Bounced => Get("bounced");
        public int Rejected => Get("rejected");
    }

    private static async Task<Totals> RunPflogsummAsync(string maillog, params string[] options)
    {
        var r = await Repo.RunAsync(Repo.Which("pflogsumm"), [.. options, maillog], TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, $"pflogsumm exited {r.ExitCode}: {r.Stderr}");
        Assert.True(r.Stderr.Trim().Length == 0, $"pflogsumm complained: {r.Stderr}");
        var output = r.Stdout;
        int start = output.IndexOf("Grand Totals\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "no Grand Totals section:\n" + output);
        // The section runs to the first blank line after its two blocks ("messages" counts and sizes).
        var section = output[start..];
        int end = section.IndexOf("\n\n\n", StringComparison.Ordinal);
        if (end > 0) section = section[..end];
        var values = new Dictionary<string, int>();
        int deferrals = 0;
        foreach (Match m in TotalsLine().Matches(section))
        {
            if (m.Groups[3].Value.StartsWith("bytes ", StringComparison.Ordinal)) continue; // sizes, abbreviated ("12k")
            // pflogsumm abbreviates large counts ("12k"); this test's counts are small.
            Assert.True(m.Groups[2].Value == " ", $"abbreviated count in: {m.Value}");
            values[m.Groups[3].Value] = int.Parse(m.Groups[1].Value);
            if (m.Groups[4].Success) deferrals = int.Parse(m.Groups[4].Value);
        }
        return new Totals(output, values, deferrals);
    }

    // " %6d%s  name[ (n%)|  (N%s deferrals)]", %s = adj_int_units' unit: " ", "k" or "m"
    [GeneratedRegex(@"^\s*(\d+)([ km])  ([a-z][a-z /]*?)(?: \(\d+%\)|  \((\d+)[ km] deferrals\))?$", RegexOptions.Multiline)]
    private static partial Regex TotalsLine();
}
