// The smtp(8) client's smtp_tls_security_level against real next hops: our
// own MTA with STARTTLS (encrypt, verify with the right and a wrong CA) and
// Postfix's smtp-sink, which offers no STARTTLS (encrypt must defer 4.7.4).
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Tls;

public sealed class SmtpClientTlsTests
{
    private static Task<MtaInstance> StartNextHopAsync(TestPki pki) => MtaInstance.StartAsync($"""
        smtpd_tls_security_level = may
        smtpd_tls_chain_files = {pki.ChainFile}
        smtpd_tls_loglevel = 1
        """);

    private static Task<MtaInstance> StartSenderAsync(int nextHopPort, string tls) => MtaInstance.StartAsync($"""
        defer_transports =
        relayhost = [127.0.0.1]:{nextHopPort}
        smtp_tls_loglevel = 1
        {tls}
        """);

    private static async Task SubmitAsync(MtaInstance mta, string to = "rcpt@example.net")
    {
        await using var c = await SmtpTestClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.SendAsync("EHLO client.example\r\n");
        await c.ReadReplyAsync();
        await c.SendMessageAsync("sender@client.example", to, "Subject: via TLS\r\n\r\nhello\r\n");
    }

    private static async Task<string> WaitForLogAsync(MtaInstance mta, string pattern, int seconds = 30)
    {
        bool found = await Repo.WaitUntilAsync(() => Regex.IsMatch(mta.Maillog, pattern), TimeSpan.FromSeconds(seconds), 200);
        Assert.True(found, $"no /{pattern}/ in the maillog:\n{mta.Maillog}");
        return mta.Maillog;
    }

    [Fact]
    public async Task EncryptDeliversOverStartTlsAndTheNextHopRecordsIt()
    {
        using var pki = TestPki.Create();
        await using var next = await StartNextHopAsync(pki);
        await using var mta = await StartSenderAsync(next.Port, $"smtp_tls_security_level = encrypt\nsmtp_tls_CAfile = {pki.CaFile}");
        await SubmitAsync(mta);
        var log = await WaitForLogAsync(mta, @"status=sent");
        Assert.Matches(@"postfix/smtp\[\d+\]: Trusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.3 with cipher TLS_AES_\d+_GCM_SHA\d+ \(\d+/\d+ bits\)", log);
        Assert.Matches(@"to=<rcpt@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*dsn=2\.0\.0, status=sent", log);
        // The next hop saw a TLS client: its log and its Received: header say so.
        var nextLog = await WaitForLogAsync(next, @"Anonymous TLS connection established from unknown\[127\.0\.0\.1\]: TLSv1\.3");
        var id = Regex.Match(nextLog, @"([0-9A-F]{10,}): client=unknown\[127\.0\.0\.1\]").Groups[1].Value;
        var cat = await next.PostfixAsync("postcat", "-q", id);
        Assert.Matches(@"\(using TLSv1\.3 with cipher TLS_AES_\d+_GCM_SHA\d+ \(\d+/\d+ bits\)\)", cat.Stdout);
        Assert.Contains($"with ESMTPS id {id}", cat.Stdout);
    }

    [Fact]
    public async Task VerifyWithTheIssuingCaDeliversAsVerified()
    {
        using var pki = TestPki.Create();
        await using var next = await StartNextHopAsync(pki);
        // The certificate names 127.0.0.1 (IP SAN): smtp_tls_verify_cert_match = hostname matches it.
        await using var mta = await StartSenderAsync(next.Port, $"smtp_tls_security_level = verify\nsmtp_tls_CAfile = {pki.CaFile}");
        await SubmitAsync(mta);
        var log = await WaitForLogAsync(mta, @"status=sent");
        Assert.Matches(@"Verified TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.3", log);
    }

    [Fact]
    public async Task VerifyWithAnotherCaDefers475()
    {
        using var pki = TestPki.Create();
        await using var next = await StartNextHopAsync(pki);
        await using var mta = await StartSenderAsync(next.Port, $"smtp_tls_security_level = verify\nsmtp_tls_CAfile = {pki.OtherCaFile}");
        await SubmitAsync(mta);
        var log = await WaitForLogAsync(mta, @"status=deferred");
        Assert.Matches(@"Untrusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+", log);
        Assert.Matches(@"to=<rcpt@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*dsn=4\.7\.5, status=deferred \(Server certificate not verified\)", log);
    }

    [Fact]
    public async Task SecureNeedsTheConfiguredNameNotJustATrustedChain()
    {
        using var pki = TestPki.Create();
        await using var next = await StartNextHopAsync(pki);
        await using var mta = await StartSenderAsync(next.Port,
            $"smtp_tls_security_level = secure\nsmtp_tls_CAfile = {pki.CaFile}\nsmtp_tls_secure_cert_match = mx.other.example");
        await SubmitAsync(mta);
        var log = await WaitForLogAsync(mta, @"status=deferred");
        Assert.Matches(@"Trusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+", log);
        Assert.Matches(@"dsn=4\.7\.5, status=deferred \(Server certificate not verified\)", log);
    }

    [Fact]
    public async Task SecureWithTheCertificatesNameDeliversAsVerified()
    {
        using var pki = TestPki.Create();
        await using var next = await StartNextHopAsync(pki);
        await using var mta = await StartSenderAsync(next.Port,
            $"smtp_tls_security_level = secure\nsmtp_tls_CAfile = {pki.CaFile}\nsmtp_tls_secure_cert_match = mx.test.example");
        await SubmitAsync(mta);
        var log = await WaitForLogAsync(mta, @"status=sent");
        Assert.Matches(@"Verified TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+", log);
    }

    [Fact]
    public async Task EncryptAgainstSmtpSinkWithoutStartTlsDefers474()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartSenderAsync(sink.Port, "smtp_tls_security_level = encrypt");
        await SubmitAsync(mta);
        var log = await WaitForLogAsync(mta, @"status=deferred");
        Assert.Matches(@"dsn=4\.7\.4, status=deferred \(TLS is required, but was not offered by host 127\.0\.0\.1\[127\.0\.0\.1\]\)", log);
        Assert.Equal(0, sink.Transactions);
    }

    [Fact]
    public async Task MayFallsBackToPlaintextWhenStartTlsIsNotOffered()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var mta = await StartSenderAsync(sink.Port, "smtp_tls_security_level = may");
        await SubmitAsync(mta);
        await WaitForLogAsync(mta, @"status=sent");
        Assert.Equal(1, sink.Transactions);
        Assert.DoesNotContain("TLS connection established", mta.Maillog);
    }
}
