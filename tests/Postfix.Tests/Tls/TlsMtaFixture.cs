// One real MTA with TLS for the STARTTLS / wrapper-mode / AUTH tests, with the
// services an operator would define in master.cf (all on loopback):
//   Port            smtpd, smtpd_tls_security_level = may, AUTH only after TLS
//   SubmissionPort  -o smtpd_tls_security_level=encrypt (the Debian submission example)
//   SmtpsPort       -o smtpd_tls_wrappermode=yes (smtps / 465)
//   LimitPort       -o smtpd_client_auth_failure_limit=2 (its own failure window)
// mynetworks excludes loopback, so relaying needs permit_sasl_authenticated.
using Postfix.Protocols.Sasl;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Tls;

public sealed class TlsMtaFixture : IAsyncLifetime
{
    public const string User = "alice";
    public const string Password = "wonder land!";
    public const string HashedUser = "bob";
    public const string HashedPassword = "builder";
    public const string SaltedUser = "carol";
    public const string SaltedPassword = "s3cret";

    private MtaInstance? _mta;
    public TestPki Pki { get; } = TestPki.Create();
    public MtaInstance Mta => _mta ?? throw new InvalidOperationException("MTA not started");
    public int Port => Mta.Port;
    public int SubmissionPort { get; } = MtaInstance.FreePort();
    public int SmtpsPort { get; } = MtaInstance.FreePort();
    public int LimitPort { get; } = MtaInstance.FreePort();

    public async Task InitializeAsync()
    {
        var passwd = Path.Combine(Pki.Dir, "sasl_passwd");
        File.WriteAllText(passwd, $"""
            # user:{"{SCHEME}"}data, Dovecot passwd-file style
            {User}:{SaslPasswordScheme.Hash(Password, "PLAIN")}
            {HashedUser}:{SaslPasswordScheme.Hash(HashedPassword, "PBKDF2-SHA256", 1000)}
            {SaltedUser}:{SaslPasswordScheme.Hash(SaltedPassword, "SSHA256")}::

            """);
        _mta = await MtaInstance.StartAsync(
            $"""
            mynetworks = 192.0.2.0/24
            smtpd_tls_security_level = may
            smtpd_tls_cert_file = {Pki.CertFile}
            smtpd_tls_key_file = {Pki.KeyFile}
            smtpd_tls_loglevel = 1
            smtpd_tls_auth_only = yes
            smtpd_sasl_auth_enable = yes
            smtpd_sasl_type = table
            smtpd_sasl_path = {passwd}
            smtpd_error_sleep_time = 0
            """,
            masterCfExtra: $"""
            127.0.0.1:{SubmissionPort} inet n - n - - smtpd -o smtpd_tls_security_level=encrypt -o smtpd_tls_chain_files={Pki.ChainFile}
            127.0.0.1:{SmtpsPort} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
            127.0.0.1:{LimitPort} inet n - n - - smtpd -o smtpd_client_auth_failure_limit=2
            """);
        foreach (var p in new[] { SubmissionPort, SmtpsPort, LimitPort })
            Assert.True(await Repo.WaitUntilAsync(() => Listening(p), TimeSpan.FromSeconds(30)), $"port {p} not listening: {Mta.Maillog}");
    }

    private static bool Listening(int port)
    {
        try
        {
            using var c = new System.Net.Sockets.TcpClient();
            c.Connect("127.0.0.1", port);
            return true;
        }
        catch (System.Net.Sockets.SocketException) { return false; }
    }

    /// <summary>Waits (bounded) until the maillog contains <paramref name="text"/>; returns the maillog.</summary>
    public async Task<string> WaitForMaillogAsync(string text, int seconds = 10)
    {
        await Repo.WaitUntilAsync(() => Mta.Maillog.Contains(text), TimeSpan.FromSeconds(seconds));
        return Mta.Maillog;
    }

    public Task<Repo.Result> SwaksAsync(int port, params string[] extra) =>
        Repo.RunAsync(Repo.Which("swaks"),
            ["--server", $"127.0.0.1:{port}", "--from", "sender@client.example", "--to", "rcpt@localhost",
             "--helo", "client.example", "--timeout", "15", .. extra],
            timeout: TimeSpan.FromSeconds(60));

    /// <summary>postcat -q ID, waiting (bounded) for the committed message.</summary>
    public async Task<string> PostcatAsync(string id)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Repo.Result r;
        while ((r = await Mta.PostfixAsync("postcat", "-q", id)).ExitCode != 0 && sw.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(200);
        Assert.True(r.ExitCode == 0, $"postcat -q {id}: {r.Stderr}");
        return r.Stdout;
    }

    public async Task DisposeAsync()
    {
        if (_mta is not null)
        {
            try { await _mta.StopAsync(); } catch (InvalidOperationException) { }
            await _mta.DisposeAsync();
        }
        Pki.Dispose();
    }
}
