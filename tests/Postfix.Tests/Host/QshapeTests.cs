// qshape(1): counts per domain and age against a real MTA, through the running
// master and offline (the same table both ways); and the layout, compared with
// Postfix's own /usr/sbin/qshape run on Postfix queue files holding the same
// messages (ages, senders, recipients), for each option that shapes the table.
using System.Diagnostics;
using System.Text;
using Postfix.Host.Commands;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Host;

public sealed class QshapeTests
{
    /// <summary>The default 80-column layout: 39 columns of domain, then T and ten buckets.</summary>
    private const string Header = "                                         T  5 10 20 40 80 160 320 640 1280 1280+";

    private static string Row(string name, params int[] counts)
    {
        int[] widths = [3, 3, 3, 3, 3, 3, 4, 4, 4, 5, 6];
        return name.PadLeft(39) + string.Concat(counts.Select((c, i) => c.ToString().PadLeft(widths[i])));
    }

    private static async Task SendAsync(MtaInstance mta, string from, params string[] to)
    {
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO admin.test\r\n");
        await c.ReadReplyAsync();
        var sb = new StringBuilder($"MAIL FROM:<{from}>\r\n");
        foreach (var t in to) sb.Append($"RCPT TO:<{t}>\r\n");
        sb.Append("DATA\r\n");
        await c.SendAsync(sb.ToString());
        for (int i = 0; i < to.Length + 2; i++) await c.ReadReplyAsync();
        await c.SendAsync("Subject: shape\r\n\r\nbody\r\n.\r\n");
        Assert.StartsWith("250", await c.ReadReplyAsync());
    }

    private static async Task<string> QshapeAsync(MtaInstance mta, params string[] args)
    {
        var r = await mta.PostfixAsync(["qshape", .. args]);
        Assert.True(r.ExitCode == 0, $"qshape {string.Join(' ', args)}: {r.ExitCode} {r.Stderr}");
        return r.Stdout;
    }

    [Fact]
    public async Task CountsPerDomainWithTheMasterRunningAndOffline()
    {
        await using var mta = await MtaInstance.StartAsync();
        for (int i = 0; i < 3; i++) await SendAsync(mta, "s1@one.example", $"u{i}@alpha.test");
        await SendAsync(mta, "s2@Two.Example", "x@beta.test");
        await SendAsync(mta, "s2@two.example", "y@BETA.test");
        await SendAsync(mta, "s1@one.example", "z@gamma.test", "w@alpha.test");
        await PostsuperTests.WaitAllDeferredAsync(mta, 6);

        string[] recipients =
        [
            Header,
            Row("TOTAL", 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            Row("alpha.test", 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            Row("beta.test", 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            Row("gamma.test", 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        ];
        string[] senders =
        [
            Header,
            Row("TOTAL", 6, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            Row("one.example", 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            Row("two.example", 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        ];
        string[] empty = [Header, Row("TOTAL", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)];
        string Lines(string[] l) => string.Join('\n', l) + "\n";

        var running = await QshapeAsync(mta, "deferred");
        Assert.Equal(Lines(recipients), running);
        Assert.Equal(Lines(senders), await QshapeAsync(mta, "-s", "deferred"));
        // qshape's default is the incoming and active queues: all this mail is deferred.
        Assert.Equal(Lines(empty), await QshapeAsync(mta));
        Assert.Equal(Lines(recipients), await QshapeAsync(mta, "incoming", "active", "deferred", "hold"));
        Assert.Equal(Lines(recipients), await QshapeAsync(mta, Path.Combine(mta.QueueDir, "deferred")));

        var id = (await PostsuperTests.QueuesAsync(mta)).Keys.First();
        Assert.Equal(0, (await mta.PostfixAsync("postsuper", "-h", id)).ExitCode);
        var held = await QshapeAsync(mta, "hold");
        Assert.Contains(Row("TOTAL", 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0), held);
        Assert.Equal(0, (await mta.PostfixAsync("postsuper", "-H", id)).ExitCode);
        await PostsuperTests.WaitAllDeferredAsync(mta, 6);

        await mta.StopAsync();
        Assert.Equal(running, await QshapeAsync(mta, "deferred"));
        Assert.Equal(Lines(senders), await QshapeAsync(mta, "-s", "deferred"));
        Assert.Equal(Lines(empty), await QshapeAsync(mta));

        // A restart logs the recovery's final count.
        await mta.StartProcessAsync();
        Assert.Matches(@"postfix/master\[\d+\]: queue recovery: done, 6 messages from \d+ records in [\d.]+s", mta.Maillog);
        Assert.Equal(running, await QshapeAsync(mta, "deferred"));
    }

    [Fact]
    public async Task BadOptionsAndQueueNames()
    {
        await using var mta = await MtaInstance.StartAsync();
        foreach (var args in new[] { new[] { "-x" }, ["-b"], ["-b", "ten"], ["-b", "1000"], ["-t", "1000000"] })
        {
            var r = await mta.PostfixAsync(["qshape", .. args]);
            Assert.True(r.ExitCode == 2, $"qshape {string.Join(' ', args)}: {r.ExitCode} {r.Stderr}");
            Assert.Contains("usage: qshape", r.Stderr);
        }
        var q = await mta.PostfixAsync("qshape", "nosuchqueue");
        Assert.Equal(1, q.ExitCode);
        Assert.Contains("qshape: fatal: invalid directory name: nosuchqueue", q.Stderr);
        var elsewhere = await mta.PostfixAsync("qshape", "/tmp/deferred");
        Assert.Equal(1, elsewhere.ExitCode);
        // Values qshape ignores (not positive, or a width under 80) keep the defaults.
        var ignored = await mta.PostfixAsync("qshape", "-b", "0", "-t", "-3", "-w", "40", "deferred");
        Assert.Equal(0, ignored.ExitCode);
        Assert.StartsWith(Header + "\n", ignored.Stdout);
    }

    /// <summary>One synthetic queued message.</summary>
    private sealed record Msg(long AgeSeconds, string Sender, string[] Recipients);

    private static List<Msg> Synthetic()
    {
        var rnd = new Random(4711);
        string[] domains =
        [
            "a.example.com", "b.example.com", "c.example.com", "d.example.com", "e.example.com",
            "mx.a.example.com", "mx.b.example.com", "Example.COM", "example.net", "x.example.net",
            "y.example.net", "sub.x.example.net", "foo.test.", "..dots..test", "[192.0.2.1]",
            "a-very-long-subdomain-name-for-truncation.department.example.org",
            "another.very.long.name.that.will.not.fit.in.eighteen.example.org", "localhost",
        ];
        string[] senders = ["", "MAILER-DAEMON", "bounce@lists.example.org", "User@Example.COM", "x@a.example.com", "noat"];
        var list = new List<Msg>();
        for (int i = 0; i < 400; i++)
        {
            // Whole minutes + 30 s: never within 30 s of a bucket limit, whoever's clock reads first.
            long age = rnd.Next(0, 5) == 0 ? rnd.Next(0, 4) * 60 + 30 : rnd.Next(0, 4000) * 60 + 30;
            int n = rnd.Next(1, 4);
            var rcpts = Enumerable.Range(0, n).Select(_ => $"u{rnd.Next(100)}@{domains[rnd.Next(domains.Length)]}").ToList();
            if (i % 50 == 0) rcpts.Add("postmaster");
            list.Add(new Msg(age, senders[rnd.Next(senders.Length)], [.. rcpts]));
        }
        // A crowd in one bucket widens that column (and TOTAL's) past two digits.
        for (int i = 0; i < 150; i++) list.Add(new Msg(90, "bulk@lists.example.org", [$"r{i}@b.example.com"]));
        return list;
    }

    private static void Record(Stream s, char type, string data)
    {
        var bytes = Encoding.ASCII.GetBytes(data);
        s.WriteByte((byte)type);
        int len = bytes.Length;
        do
        {
            int b = len & 0x7f;
            len >>= 7;
            s.WriteByte((byte)(len != 0 ? b | 0x80 : b));
        } while (len != 0);
        s.Write(bytes);
    }

    /// <summary>Postfix queue files (size, time, sender, recipients, content, end) as qshape reads them.</summary>
    private static void WritePostfixQueue(string dir, List<Msg> msgs, long now)
    {
        Directory.CreateDirectory(dir);
        for (int i = 0; i < msgs.Count; i++)
        {
            var path = Path.Combine(dir, $"Q{i:X10}");
            using (var f = File.Create(path))
            {
                Record(f, 'C', $"{0,15} {0,15} {msgs[i].Recipients.Length,15}");
                Record(f, 'T', $"{now - msgs[i].AgeSeconds} 0");
                Record(f, 'S', msgs[i].Sender);
                foreach (var r in msgs[i].Recipients) Record(f, 'R', r);
                Record(f, 'M', "");
                Record(f, 'X', "");
                Record(f, 'E', "");
            }
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static async Task<string> PostfixQshapeAsync(string queue, string[] args)
    {
        var r = await Repo.RunAsync(Repo.Which("qshape"), [.. args, queue], TimeSpan.FromMinutes(1));
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Stdout;
    }

    private static string Ours(List<Msg> msgs, QshapeOptions o)
    {
        var t = new QshapeTable(o);
        foreach (var m in msgs)
            t.Add(m.AgeSeconds, (o.Senders ? [m.Sender] : m.Recipients).Select(QshapeTable.Domain));
        var w = new StringWriter { NewLine = "\n" };
        t.Write(w);
        return w.ToString();
    }

    public static TheoryData<string[]> OptionSets => new()
    {
        Array.Empty<string>(),
        new[] { "-s" },
        new[] { "-p" },
        new[] { "-p", "-m", "2" },
        new[] { "-s", "-p", "-m", "1" },
        new[] { "-b", "5", "-t", "1" },
        new[] { "-b", "1" },
        new[] { "-l" },
        new[] { "-l", "-b", "14", "-t", "60" },
        new[] { "-w", "132" },
        new[] { "-b", "16", "-t", "2", "-p", "-m", "3" },
    };

    [Theory]
    [MemberData(nameof(OptionSets))]
    public async Task LayoutMatchesPostfixQshape(string[] args)
    {
        var msgs = Synthetic();
        var dir = Directory.CreateTempSubdirectory("qshape-").FullName;
        try
        {
            long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            WritePostfixQueue(Path.Combine(dir, "deferred"), msgs, now);
            var theirs = (await PostfixQshapeAsync(Path.Combine(dir, "deferred"), args)).Split('\n');

            var o = new QshapeOptions();
            for (int i = 0; i < args.Length; i++)
            {
                o = args[i] switch
                {
                    "-s" => o with { Senders = true },
                    "-p" => o with { Parents = true },
                    "-l" => o with { Linear = true },
                    "-m" => o with { MinSubdomains = int.Parse(args[++i]) },
                    "-b" => o with { Buckets = int.Parse(args[++i]) },
                    "-t" => o with { BucketMinutes = int.Parse(args[++i]) },
                    "-w" => o with { Width = int.Parse(args[++i]) },
                    _ => throw new ArgumentException(args[i]),
                };
            }
            var ours = Ours(msgs, o).Split('\n');

            // Heading and TOTAL exactly; rows as a set (Perl orders equal counts of
            // equal-length names by hash order), and ours sorted as qshape sorts.
            Assert.Equal(theirs[0], ours[0]);
            Assert.Equal(theirs[1], ours[1]);
            Assert.Equal(theirs.Order(StringComparer.Ordinal), ours.Order(StringComparer.Ordinal));
            var counts = ours[1..^1].Select(l => (Name: l.Length >= 1 ? l.Trim().Split(' ')[0] : "", Total: long.Parse(l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]))).ToList();
            for (int i = 1; i < counts.Count; i++)
                Assert.True(counts[i - 1].Total > counts[i].Total
                    || counts[i - 1].Total == counts[i].Total && counts[i - 1].Name.Length <= counts[i].Name.Length,
                    $"rows out of order: {ours[i]} / {ours[i + 1]}");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
