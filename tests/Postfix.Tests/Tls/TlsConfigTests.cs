// TLS and SASL settings that cannot work are refused by "postfix check" (and so
// by start and reload), naming the parameter and where it was set, instead of
// failing at the first client.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Tls;

public sealed class TlsConfigTests
{
    [Theory]
    [InlineData("smtpd_tls_security_level = encrypt", "smtpd_tls_security_level\": TLS is required, but no certificate is configured")]
    [InlineData("smtpd_tls_wrappermode = yes", "smtpd_tls_wrappermode\": TLS is required, but no certificate is configured")]
    [InlineData("smtpd_tls_security_level = maybe", "smtpd_tls_security_level\": bad value \"maybe\"")]
    [InlineData("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = /nonexistent/cert.pem", "smtpd_tls_cert_file\": cannot load the server certificate")]
    [InlineData("smtpd_sasl_auth_enable = yes", "smtpd_sasl_type\": SASL type \"cyrus\" is not supported")]
    [InlineData("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = table\nsmtpd_sasl_path = /nonexistent/passwd", "smtpd_sasl_path\": cannot read the SASL password table")]
    [InlineData("smtp_tls_security_level = dane", "smtp_tls_security_level\": \"dane\" is not supported")]
    [InlineData("smtp_tls_protocols = <=TLSv1.1", "smtp_tls_protocols\": \"<=TLSv1.1\" leaves no TLS protocol")]
    public async Task UnusableSettingsAreConfigErrors(string mainCf, string expected)
    {
        await using var mta = MtaInstance.Prepare(mainCf);
        var r = await mta.PostfixAsync("check");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        // Located at its main.cf line when set there (smtpd_sasl_type's "cyrus" is the built-in default).
        if (mainCf.Contains(expected.Split('"')[0])) Assert.Contains("main.cf:", r.Stderr);
    }

    [Fact]
    public async Task MayWithoutCertificateIsPlaintextLikePostfix()
    {
        using var pki = TestPki.Create();
        await using var mta = MtaInstance.Prepare("smtpd_tls_security_level = may");
        Assert.Equal(0, (await mta.PostfixAsync("check")).ExitCode);
        await mta.StartProcessAsync();
        await using var c = await TlsSmtpClient.ConnectAsync(mta.Port);
        await c.ReadReplyAsync();
        Assert.DoesNotContain("STARTTLS", await c.CommandAsync("EHLO client.example"));
        Assert.StartsWith("502 5.5.1", await c.CommandAsync("STARTTLS"));
    }
}
