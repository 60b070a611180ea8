// smtpd_sasl_type = dovecot against a real Dovecot auth service: swaks AUTH
// PLAIN and LOGIN (LOGIN is relayed to Dovecot as PLAIN), a wrong password is
// 535, and an auth service that is not there is a temporary 454, not a crash.
using Postfix.Tests.Infrastructure;
using Postfix.Tests.Tls;
using Xunit;

namespace Postfix.Tests.Sasl;

public sealed class SmtpdDovecotAuthTests
{
    private static Task<MtaInstance> StartAsync(TestPki pki, string socket) => MtaInstance.StartAsync($"""
        mynetworks = 192.0.2.0/24
        smtpd_tls_security_level = may
        smtpd_tls_chain_files = {pki.ChainFile}
        smtpd_tls_auth_only = yes
        smtpd_sasl_auth_enable = yes
        smtpd_sasl_type = dovecot
        smtpd_sasl_path = {socket}
        smtpd_error_sleep_time = 0
        """);

    private static Task<Repo.Result> SwaksAsync(int port, string mech, string user, string password) =>
        Repo.RunAsync(Repo.Which("swaks"),
            ["--server", $"127.0.0.1:{port}", "--from", "sender@client.example", "--to", "someone@example.net",
             "--tls", "--auth", mech, "--auth-user", user, "--auth-password", password, "--timeout", "15"],
            timeout: TimeSpan.FromSeconds(60));

    [Fact]
    public async Task DovecotChecksThePasswordForPlainAndLogin()
    {
        using var pki = TestPki.Create();
        await using var dovecot = await DovecotAuthServer.StartAsync("dave:letmein");
        await using var mta = await StartAsync(pki, dovecot.SocketPath);

        var plain = await SwaksAsync(mta.Port, "PLAIN", "dave", "letmein");
        Assert.True(plain.ExitCode == 0, plain.Stdout + plain.Stderr + dovecot.Log);
        Assert.Contains("235 2.7.0 Authentication successful", plain.Stdout);
        Assert.Contains("queued as", plain.Stdout);

        var login = await SwaksAsync(mta.Port, "LOGIN", "dave", "letmein");
        Assert.True(login.ExitCode == 0, login.Stdout + login.Stderr);

        var bad = await SwaksAsync(mta.Port, "PLAIN", "dave", "nope");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("535 5.7.8 Error: authentication failed: authentication failure", bad.Stdout);
        Assert.True(await Repo.WaitUntilAsync(() => mta.Maillog.Contains("sasl_method=LOGIN, sasl_username=dave"), TimeSpan.FromSeconds(10)), mta.Maillog);
    }

    [Fact]
    public async Task MissingAuthServiceIsATemporaryFailure()
    {
        using var pki = TestPki.Create();
        await using var mta = await StartAsync(pki, Path.Combine(pki.Dir, "no-such-socket"));
        var r = await SwaksAsync(mta.Port, "PLAIN", "dave", "letmein");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("454 4.7.0 Temporary authentication failure", r.Stdout);
    }
}
