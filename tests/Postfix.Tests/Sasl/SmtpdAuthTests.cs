// smtpd AUTH (RFC 4954, PLAIN and LOGIN) against swaks --auth on a submission
// service and a raw client for malformed exchanges. AUTH is offered only
// inside TLS here (smtpd_tls_auth_only / encrypt level); a good login may
// relay (permit_sasl_authenticated), a bad one gets 535 and counts toward the
// per-client failure limit.
using Postfix.Tests.Infrastructure;
using Postfix.Tests.Tls;
using Xunit;

namespace Postfix.Tests.Sasl;

public sealed class SmtpdAuthTests(TlsMtaFixture mta) : IClassFixture<TlsMtaFixture>
{
    private Task<Repo.Result> SubmitAsync(string mech, string user, string password, string to = "someone@example.net") =>
        mta.SwaksAsync(mta.SubmissionPort, "--tls", "--auth", mech, "--auth-user", user, "--auth-password", password, "--to", to);

    [Theory]
    [InlineData("PLAIN", TlsMtaFixture.User, TlsMtaFixture.Password)]
    [InlineData("LOGIN", TlsMtaFixture.User, TlsMtaFixture.Password)]
    [InlineData("PLAIN", TlsMtaFixture.HashedUser, TlsMtaFixture.HashedPassword)]
    [InlineData("LOGIN", TlsMtaFixture.SaltedUser, TlsMtaFixture.SaltedPassword)]
    public async Task SwaksAuthSucceedsAndMayRelayToAForeignDomain(string mech, string user, string password)
    {
        var r = await SubmitAsync(mech, user, password);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("235 2.7.0 Authentication successful", r.Stdout);
        Assert.Contains("<~  250 2.1.5 Ok", r.Stdout); // RCPT to example.net: relayed for an authenticated client
        Assert.Contains("queued as", r.Stdout);
        await mta.WaitForMaillogAsync($"client=unknown[127.0.0.1], sasl_method={mech}, sasl_username={user}");
    }

    [Fact]
    public async Task AuthenticatedMessageIsReceivedWithEsmtpsa()
    {
        var r = await SubmitAsync("PLAIN", TlsMtaFixture.User, TlsMtaFixture.Password);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var id = System.Text.RegularExpressions.Regex.Match(r.Stdout, @"queued as ([0-9A-F]+)").Groups[1].Value;
        Assert.Contains($"(Postfix) with ESMTPSA id {id}", await mta.PostcatAsync(id));
    }

    [Fact]
    public async Task SwaksWrongPasswordGets535AndNoRelay()
    {
        var r = await SubmitAsync("PLAIN", TlsMtaFixture.User, "wrong");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("<~* 535 5.7.8 Error: authentication failed: authentication failure", r.Stdout);
        Assert.DoesNotContain("queued as", r.Stdout);
        await mta.WaitForMaillogAsync("warning: unknown[127.0.0.1]: SASL PLAIN authentication failed: authentication failure");
    }

    [Fact]
    public async Task SwaksUnknownUserGets535()
    {
        var r = await SubmitAsync("LOGIN", "mallory", "x");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("535 5.7.8 Error: authentication failed", r.Stdout);
    }

    [Fact]
    public async Task AuthIsNotOfferedBeforeTls()
    {
        // Opportunistic service with smtpd_tls_auth_only = yes: no AUTH in EHLO, AUTH is "not enabled" (Postfix: 503).
        var r = await mta.SwaksAsync(mta.Port, "--auth", "PLAIN", "--auth-user", TlsMtaFixture.User, "--auth-password", TlsMtaFixture.Password);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("Host did not advertise authentication", r.Stdout + r.Stderr);
        await using var c = await TlsSmtpClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        await c.CommandAsync("EHLO client.example");
        Assert.StartsWith("503 5.5.1 Error: authentication not enabled", await c.CommandAsync("AUTH PLAIN " + TlsSmtpClient.B64($"\0{TlsMtaFixture.User}\0{TlsMtaFixture.Password}")));
    }

    [Fact]
    public async Task UnauthenticatedTlsClientMayNotRelay()
    {
        var r = await mta.SwaksAsync(mta.SubmissionPort, "--tls", "--to", "someone@example.net");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("454 4.7.1 <someone@example.net>: Relay access denied", r.Stdout);
    }

    [Fact]
    public async Task MalformedExchangesGetTheRightReplies()
    {
        await using var c = await TlsSmtpClient.ConnectAsync(mta.SubmissionPort);
        await c.ReadReplyAsync();
        await c.CommandAsync("EHLO client.example");
        await c.CommandAsync("STARTTLS");
        await c.StartTlsAsync();
        await c.CommandAsync("EHLO client.example");

        Assert.StartsWith("501 5.5.4 Syntax: AUTH mechanism", await c.CommandAsync("AUTH"));
        Assert.StartsWith("535 5.7.8 Error: authentication failed: Invalid authentication mechanism", await c.CommandAsync("AUTH CRAM-MD5"));
        Assert.StartsWith("501 5.5.2", await c.CommandAsync("AUTH PLAIN !!notbase64!!"));
        // A cancelled exchange, at each step.
        Assert.Equal("334 ", await c.CommandAsync("AUTH PLAIN"));
        Assert.StartsWith("501 5.7.0 Authentication aborted", await c.CommandAsync("*"));
        Assert.Equal("334 VXNlcm5hbWU6", await c.CommandAsync("AUTH LOGIN"));
        Assert.Equal("334 UGFzc3dvcmQ6", await c.CommandAsync(TlsSmtpClient.B64(TlsMtaFixture.User)));
        Assert.StartsWith("501 5.7.0 Authentication aborted", await c.CommandAsync("*"));
        // Bad base64 in a continuation line.
        Assert.Equal("334 ", await c.CommandAsync("AUTH PLAIN"));
        Assert.StartsWith("501 5.5.2", await c.CommandAsync("a=b=c"));
        // A response over smtpd_sasl_response_limit (12288) is refused and skipped whole.
        Assert.Equal("334 ", await c.CommandAsync("AUTH PLAIN"));
        Assert.StartsWith("500 5.5.6 Authentication exchange line is too long", await c.CommandAsync(new string('A', 20000)));
        // PLAIN without the two NULs, and a proxy authorization identity, are failures.
        Assert.StartsWith("535 5.7.8", await c.CommandAsync("AUTH PLAIN " + TlsSmtpClient.B64("alice")));
        Assert.StartsWith("535 5.7.8", await c.CommandAsync("AUTH PLAIN " + TlsSmtpClient.B64($"root\0{TlsMtaFixture.User}\0{TlsMtaFixture.Password}")));
        // "=" is an empty initial response.
        Assert.StartsWith("535 5.7.8", await c.CommandAsync("AUTH PLAIN ="));
        // The session still works: a good login, then no second one.
        Assert.StartsWith("235 2.7.0", await c.CommandAsync("AUTH PLAIN " + TlsSmtpClient.B64($"{TlsMtaFixture.User}\0{TlsMtaFixture.User}\0{TlsMtaFixture.Password}")));
        Assert.StartsWith("503 5.5.1 Error: already authenticated", await c.CommandAsync("AUTH LOGIN"));
    }

    [Fact]
    public async Task AuthInsideAMailTransactionIsRefused()
    {
        await using var c = await TlsSmtpClient.ConnectAsync(mta.SmtpsPort, implicitTls: true);
        await c.ReadReplyAsync();
        Assert.Contains("250-AUTH PLAIN LOGIN", await c.CommandAsync("EHLO client.example"));
        await c.CommandAsync("MAIL FROM:<sender@client.example>");
        Assert.StartsWith("503 5.5.1 Error: MAIL transaction in progress", await c.CommandAsync("AUTH PLAIN " + TlsSmtpClient.B64($"\0{TlsMtaFixture.User}\0{TlsMtaFixture.Password}")));
    }

    [Fact]
    public async Task TooManyFailuresGet421AndDisconnectAcrossSessions()
    {
        string bad = "AUTH PLAIN " + TlsSmtpClient.B64($"\0{TlsMtaFixture.User}\0nope");
        await using (var c = await StartTlsAsync(mta.LimitPort))
        {
            Assert.StartsWith("535 5.7.8", await c.CommandAsync(bad));
            // The second failure reaches smtpd_client_auth_failure_limit = 2.
            await c.SendAsync(bad + "\r\n");
            Assert.StartsWith("535 5.7.8", await c.ReadReplyAsync());
            Assert.StartsWith("421 4.7.0 mx.test.example Error: too many failed authentication attempts", await c.ReadReplyAsync());
            Assert.True(await c.IsClosedAsync());
        }
        // A new connection from the same client is still inside the window: even good credentials wait.
        await using (var c = await StartTlsAsync(mta.LimitPort))
        {
            Assert.StartsWith("421 4.7.0", await c.CommandAsync("AUTH PLAIN " + TlsSmtpClient.B64($"\0{TlsMtaFixture.User}\0{TlsMtaFixture.Password}")));
            Assert.True(await c.IsClosedAsync());
        }
        await mta.WaitForMaillogAsync("too many failed AUTH attempts");
    }

    private static async Task<TlsSmtpClient> StartTlsAsync(int port)
    {
        var c = await TlsSmtpClient.ConnectAsync(port);
        await c.ReadReplyAsync();
        await c.CommandAsync("EHLO client.example");
        await c.CommandAsync("STARTTLS");
        await c.StartTlsAsync();
        await c.CommandAsync("EHLO client.example");
        return c;
    }
}
