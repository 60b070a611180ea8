// smtpd STARTTLS (RFC 3207) and implicit TLS against real peers: swaks --tls /
// --tlsc, openssl s_client -starttls smtp, and a raw client for what real
// clients never send (command injection after STARTTLS, CVE-2011-0411).
using System.Security.Authentication;
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Tls;

public sealed class SmtpdStartTlsTests(TlsMtaFixture mta) : IClassFixture<TlsMtaFixture>
{
    [Fact]
    public async Task SwaksStartTlsMessageIsQueuedAndLogged()
    {
        var r = await mta.SwaksAsync(mta.Port, "--tls");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("<-  220 2.0.0 Ready to start TLS", r.Stdout);
        Assert.Contains("=== TLS started with cipher TLSv1.3", r.Stdout);
        Assert.Contains("queued as", r.Stdout);
        var log = await mta.WaitForMaillogAsync("Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1.3 with cipher TLS_");
        Assert.Matches(@"Anonymous TLS connection established from unknown\[127\.0\.0\.1\]: TLSv1\.3 with cipher TLS_AES_\d+_GCM_SHA\d+ \(\d+/\d+ bits\)", log);
        Assert.Matches(@"disconnect from unknown\[127\.0\.0\.1\] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7", log);
    }

    [Fact]
    public async Task ReceivedHeaderRecordsTlsProtocolAndCipher()
    {
        var r = await mta.SwaksAsync(mta.Port, "--tls", "--header", "Subject: tls received");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var id = Regex.Match(r.Stdout, @"queued as ([0-9A-F]+)").Groups[1].Value;
        var message = await mta.PostcatAsync(id);
        Assert.Matches(@"Received: from client\.example \(unknown \[127\.0\.0\.1\]\)\r?\n\t\(using TLSv1\.3 with cipher TLS_AES_\d+_GCM_SHA\d+ \(\d+/\d+ bits\)\)\r?\n\t\(No client certificate requested\)\r?\n\tby mx\.test\.example \(Postfix\) with ESMTPS id " + id, message);
    }

    [Fact]
    public async Task EhloAdvertisesStartTlsOnlyBeforeTls()
    {
        await using var c = await TlsSmtpClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        var ehlo = await c.CommandAsync("EHLO client.example");
        Assert.Contains("250-STARTTLS", ehlo);
        Assert.DoesNotContain("AUTH", ehlo); // smtpd_tls_auth_only = yes
        Assert.StartsWith("220 2.0.0 Ready to start TLS", await c.CommandAsync("STARTTLS"));
        await c.StartTlsAsync();
        // RFC 3207 4.2: the session restarts; the client must EHLO again.
        Assert.StartsWith("503 5.5.1 Error: need MAIL", await c.CommandAsync("RCPT TO:<rcpt@localhost>"));
        var again = await c.CommandAsync("EHLO client.example");
        Assert.DoesNotContain("STARTTLS", again);
        Assert.Contains("250-AUTH PLAIN LOGIN", again);
        Assert.StartsWith("554 5.5.1 Error: TLS already active", await c.CommandAsync("STARTTLS"));
        Assert.StartsWith("501 5.5.4 Syntax: STARTTLS", await c.CommandAsync("STARTTLS now"));
    }

    [Fact]
    public async Task CommandPipelinedAfterStartTlsIsDiscardedNotExecutedInsideTls()
    {
        await using var c = await TlsSmtpClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.CommandAsync("EHLO client.example");
        Assert.StartsWith("250", await c.CommandAsync("MAIL FROM:<sender@client.example>"));
        // One packet: STARTTLS plus a command a man-in-the-middle slipped in behind it.
        await c.SendAsync("STARTTLS\r\nRCPT TO:<victim@localhost>\r\n");
        Assert.StartsWith("220 2.0.0 Ready to start TLS", await c.ReadReplyAsync());
        await c.StartTlsAsync();
        // Had the RCPT been kept, its reply would come first inside TLS.
        var first = await c.CommandAsync("EHLO client.example");
        Assert.StartsWith("250-mx.test.example", first);
        Assert.StartsWith("503 5.5.1 Error: need MAIL", await c.CommandAsync("RCPT TO:<victim@localhost>"));
        var log = await mta.WaitForMaillogAsync("improper command pipelining after STARTTLS");
        Assert.Contains(@"improper command pipelining after STARTTLS from unknown[127.0.0.1]: RCPT TO:<victim@localhost>\r\n", log);
    }

    [Fact]
    public async Task EncryptLevelRejectsMailBeforeStartTls()
    {
        await using var c = await TlsSmtpClient.ConnectAsync(mta.SubmissionPort);
        await c.ReadReplyAsync();
        var ehlo = await c.CommandAsync("EHLO client.example");
        Assert.Contains("250-STARTTLS", ehlo);
        Assert.DoesNotContain("AUTH", ehlo);
        Assert.StartsWith("530 5.7.0 Must issue a STARTTLS command first", await c.CommandAsync("MAIL FROM:<sender@client.example>"));
        Assert.StartsWith("530 5.7.0 Must issue a STARTTLS command first", await c.CommandAsync("AUTH PLAIN " + TlsSmtpClient.B64("\0alice\0x")));
        Assert.StartsWith("250", await c.CommandAsync("NOOP"));
        Assert.StartsWith("502 5.5.2", await c.CommandAsync("XYZZY"));
        Assert.StartsWith("220", await c.CommandAsync("STARTTLS"));
        await c.StartTlsAsync();
        await c.CommandAsync("EHLO client.example");
        Assert.StartsWith("250 2.1.0", await c.CommandAsync("MAIL FROM:<sender@client.example>"));
    }

    [Fact]
    public async Task SwaksToEncryptServiceWithoutTlsGets530()
    {
        var r = await mta.SwaksAsync(mta.SubmissionPort);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("<** 530 5.7.0 Must issue a STARTTLS command first", r.Stdout);
    }

    [Fact]
    public async Task SwaksImplicitTlsOnWrapperModeServiceIsQueued()
    {
        var r = await mta.SwaksAsync(mta.SmtpsPort, "--tlsc");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("=== TLS started with cipher", r.Stdout);
        Assert.Contains("<~  220 mx.test.example ESMTP Postfix", r.Stdout); // the greeting came inside TLS
        Assert.DoesNotContain("STARTTLS", r.Stdout);
        Assert.Contains("queued as", r.Stdout);
    }

    [Fact]
    public async Task PlaintextClientOnWrapperModeServiceGetsNoGreeting()
    {
        await using var c = await TlsSmtpClient.ConnectAsync(mta.SmtpsPort);
        await c.SendAsync("EHLO client.example\r\n");
        Assert.True(await c.IsClosedAsync());
        await mta.WaitForMaillogAsync("SSL_accept error from unknown[127.0.0.1]");
    }

    [Fact]
    public async Task OpensslStartTlsHandshakeNegotiatesTls13ByDefaultAndTls12OnRequest()
    {
        var r13 = await OpensslAsync(mta.Port);
        Assert.Contains("New, TLSv1.3, Cipher is TLS_", r13.Stdout);
        Assert.Contains("250 CHUNKING", r13.Stdout); // the EHLO after STARTTLS went through
        var r12 = await OpensslAsync(mta.Port, "-tls1_2");
        Assert.Matches(@"New, TLSv1\.2, Cipher is ECDHE-ECDSA-AES\d+-GCM-SHA\d+", r12.Stdout);
        // The server logs OpenSSL's name for the TLS 1.2 suite too.
        await mta.WaitForMaillogAsync(": TLSv1.2 with cipher ECDHE-ECDSA-AES");
        Assert.Matches(@"TLSv1\.2 with cipher ECDHE-ECDSA-AES\d+-GCM-SHA\d+ \(\d+/\d+ bits\)", mta.Mta.Maillog);
    }

    [Fact]
    public async Task OpensslTls11HandshakeIsRefused()
    {
        // SECLEVEL=0 lets the client offer TLS 1.1; the server must refuse it.
        var r = await OpensslAsync(mta.Port, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0");
        Assert.DoesNotContain("New, TLSv1.1", r.Stdout);
        Assert.Contains("Cipher is (NONE)", r.Stdout);
        await mta.WaitForMaillogAsync("SSL_accept error from unknown[127.0.0.1]");
    }

    [Fact]
    public async Task DotnetClientLimitedToTls11CannotConnect()
    {
        await using var c = await TlsSmtpClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.CommandAsync("EHLO client.example");
        await c.CommandAsync("STARTTLS");
#pragma warning disable SYSLIB0039 // the point of the test: an old protocol must be refused
        await Assert.ThrowsAnyAsync<Exception>(() => c.StartTlsAsync(SslProtocols.Tls11));
#pragma warning restore SYSLIB0039
    }

    private static Task<Repo.Result> OpensslAsync(int port, params string[] extra) =>
        Repo.RunAsync(Repo.Which("openssl"),
            ["s_client", "-starttls", "smtp", "-connect", $"127.0.0.1:{port}", "-servername", "mx.test.example", "-ign_eof", .. extra],
            timeout: TimeSpan.FromSeconds(30), stdin: "EHLO client.example\r\nQUIT\r\n");
}
