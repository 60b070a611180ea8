// A real peer: MailKit's SmtpClient (RFC 5321 client with PIPELINING, 8BITMIME,
// CHUNKING) against the real MTA process. MailKit sends DATA unless BINARYMIME
// is needed or PreferSendAsBinaryData is set; then it sends BDAT when CHUNKING
// is offered, which covers smtpd's BDAT path with a real client.
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit;

namespace Postfix.Tests.Smtpd;

public sealed class MailKitTests(MailKitTests.Fixture mta) : IClassFixture<MailKitTests.Fixture>
{
    public sealed class Fixture : MtaFixture;

    /// <summary>MailKit's documented switch for preferring BDAT over DATA is a protected property.</summary>
    private sealed class BdatSmtpClient(IProtocolLogger logger) : SmtpClient(logger)
    {
        protected override bool PreferSendAsBinaryData => true;
    }

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static MimeMessage Message(string subject, MimeEntity body, params string[] to)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("sender@client.example"));
        foreach (var t in to.DefaultIfEmpty("rcpt@localhost")) m.To.Add(MailboxAddress.Parse(t));
        m.Subject = subject;
        m.Body = body;
        return m;
    }

    /// <summary>Sends with a fresh client; returns the server's final response and the protocol log.</summary>
    private async Task<(string Response, string Log)> SendAsync(MimeMessage message, bool log = true, bool bdat = false)
    {
        using var cts = new CancellationTokenSource(Bound);
        using var logStream = new MemoryStream();
        IProtocolLogger logger = log ? new ProtocolLogger(logStream, leaveOpen: true) : new NullProtocolLogger();
        using var client = bdat ? new BdatSmtpClient(logger) : new SmtpClient(logger);
        client.Timeout = (int)Bound.TotalMilliseconds;
        await client.ConnectAsync("127.0.0.1", mta.Port, SecureSocketOptions.None, cts.Token);
        var response = await client.SendAsync(message, cts.Token);
        await client.DisconnectAsync(true, cts.Token);
        return (response, Encoding.UTF8.GetString(logStream.ToArray()));
    }

    [Fact]
    public async Task MessageToThreeRecipientsIsQueuedOnce()
    {
        int before = await mta.Mta.QueueCountAsync();
        var msg = Message("three", new TextPart("plain") { Text = "hello three" },
            "one@localhost", "two@localhost", "three@localhost");
        var (response, log) = await SendAsync(msg);
        Assert.Contains("queued as", response);
        Assert.Equal(3, log.Split('\n').Count(l => l.StartsWith("C: RCPT TO:", StringComparison.Ordinal)));
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());
    }

    [Fact]
    public async Task EightBitBodyIsSentAs8BitMimeAndQueued()
    {
        int before = await mta.Mta.QueueCountAsync();
        var body = new TextPart("plain")
        {
            Text = "Grüße aus Köln — ünïcödé body\n",
            ContentTransferEncoding = ContentEncoding.EightBit,
        };
        var (response, log) = await SendAsync(Message("8bit", body));
        Assert.Contains("queued as", response);
        Assert.Contains("BODY=8BITMIME", log);
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());
    }

    [Fact]
    public async Task TwoMegabyteMessageIsAccepted()
    {
        int before = await mta.Mta.QueueCountAsync();
        var data = new byte[2 * 1024 * 1024];
        new Random(42).NextBytes(data);
        var multipart = new Multipart("mixed")
        {
            new TextPart("plain") { Text = "see attachment" },
            new MimePart("application", "octet-stream")
            {
                Content = new MimeContent(new MemoryStream(data)),
                ContentTransferEncoding = ContentEncoding.Base64,
                FileName = "random.bin",
            },
        };
        var (response, _) = await SendAsync(Message("large", multipart), log: false);
        Assert.Contains("queued as", response);
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());
    }

    [Fact]
    public async Task MailKitUsesBdatWhenChunkingIsOffered()
    {
        int before = await mta.Mta.QueueCountAsync();
        var (response, log) = await SendAsync(Message("chunking", new TextPart("plain") { Text = "chunked" }), bdat: true);
        Assert.Contains("queued as", response);
        Assert.Equal(before + 1, await mta.Mta.QueueCountAsync());
        Assert.Contains("C: BDAT ", log);
        Assert.DoesNotContain("C: DATA", log);
        var maillog = await mta.WaitForMaillogAsync(" bdat=");
        Assert.Contains(maillog.Split('\n'), l => l.Contains("disconnect from") && l.Contains(" bdat="));
    }
}
