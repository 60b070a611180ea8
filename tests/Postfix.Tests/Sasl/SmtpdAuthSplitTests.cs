// The AUTH exchange through smtpd's parse loop with the input cut at every
// byte: the session runs over in-memory pipes (a ConnectionContext without a
// socket), so partial lines in Phase.AuthResponse are exercised exactly,
// and every split must give the same replies as the whole input.
using System.Text;
using Postfix.Core.Logging;
using Postfix.Protocols.Sasl;
using Postfix.Protocols.Smtpd;
using Postfix.Testing;
using Xunit;

namespace Postfix.Tests.Sasl;

public sealed class SmtpdAuthSplitTests
{
    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    public static TheoryData<string, string[]> Exchanges => new()
    {
        { $"AUTH PLAIN\r\n{B64("\0u\0pw")}\r\n", ["334 ", "235 2.7.0 Authentication successful"] },
        { $"AUTH LOGIN\r\n{B64("u")}\r\n{B64("pw")}\r\n", ["334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "235 2.7.0 Authentication successful"] },
        { $"AUTH LOGIN {B64("u")}\r\n*\r\n", ["334 UGFzc3dvcmQ6", "501 5.7.0 Authentication aborted"] },
        { $"AUTH PLAIN {B64("\0u\0wrong")}\r\n", ["535 5.7.8 Error: authentication failed: authentication failure"] },
    };

    [Theory]
    [MemberData(nameof(Exchanges))]
    public async Task EverySplitPointGivesTheSameReplies(string exchange, string[] expected)
    {
        var passwd = Path.GetTempFileName();
        File.WriteAllText(passwd, "u:{PLAIN}pw\n");
        try
        {
            var settings = new SmtpdSettings
            {
                MyHostname = "mx.test.example",
                ErrorSleepTime = TimeSpan.Zero,
                Sasl = SaslPasswordTable.Load(passwd),
                ClientAuthFailureLimit = 0,
            };
            using var server = new SmtpdServer(settings, new NoQueue(), Maillog.Null);
            var input = Encoding.ASCII.GetBytes("EHLO client.example\r\n" + exchange + "QUIT\r\n");
            for (int split = 0; split <= input.Length; split++)
            {
                var replies = await RunAsync(server, input, split);
                var got = replies.Where(l => !l.StartsWith("220 ") && !l.StartsWith("250") && !l.StartsWith("221 ")).ToArray();
                Assert.True(expected.SequenceEqual(got), $"split at {split}: {string.Join(" | ", got)}");
                Assert.StartsWith("221 2.0.0 Bye", replies[^1]);
            }
        }
        finally { File.Delete(passwd); }
    }

    private static async Task<string[]> RunAsync(SmtpdServer server, byte[] input, int split)
    {
        var conn = new PipeConnection();
        var session = new SmtpdSession(server, conn).RunAsync();
        await conn.ToServer.Writer.WriteAsync(input.AsMemory(0, split));
        await Task.Yield();
        await conn.ToServer.Writer.WriteAsync(input.AsMemory(split));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await session.WaitAsync(cts.Token);
        var output = new StringBuilder();
        while (true)
        {
            var r = await conn.ToClient.Reader.ReadAsync(cts.Token);
            foreach (var seg in r.Buffer) output.Append(Encoding.ASCII.GetString(seg.Span));
            conn.ToClient.Reader.AdvanceTo(r.Buffer.End);
            if (r.IsCompleted) break;
        }
        return output.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
    }
}
