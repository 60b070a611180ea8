// The TLS helpers without a network: Postfix protocol-list syntax with our
// TLS 1.2 floor, and OpenSSL-style cipher names for logs and Received:.
using System.Security.Authentication;
using Postfix.Protocols.Tls;
using Xunit;

namespace Postfix.Tests.Tls;

public sealed class TlsUnitTests
{
    [Theory]
    [InlineData("", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData(">=TLSv1", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData(">=TLSv1.2", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData(">=TLSv1.3", SslProtocols.Tls13)]
    [InlineData(">=0x0304", SslProtocols.Tls13)]
    [InlineData(">=TLSv1, <=TLSv1.2", SslProtocols.Tls12)]
    [InlineData("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1", SslProtocols.Tls12 | SslProtocols.Tls13)]
    [InlineData("!TLSv1.3", SslProtocols.Tls12)]
    [InlineData("TLSv1.2:TLSv1.3", SslProtocols.Tls12 | SslProtocols.Tls13)]
    public void ProtocolListsFollowPostfixSyntaxWithATls12Floor(string value, SslProtocols expected)
    {
        Assert.True(TlsProtocolList.TryParse(value, out var p, out var error), error);
        Assert.Equal(expected, p);
    }

    [Theory]
    [InlineData("<=TLSv1.1")]
    [InlineData("TLSv1")]
    [InlineData("TLSv9")]
    [InlineData("!0303")]
    public void ListsThatLeaveNothingOrDoNotParseAreErrors(string value)
    {
        Assert.False(TlsProtocolList.TryParse(value, out _, out var error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", 256)]
    [InlineData("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", 256)]
    [InlineData("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", 256)]
    [InlineData("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", 128)]
    [InlineData("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", 256)]
    public void CipherNamesAreOpenSslNames(string iana, string openssl, int bits)
    {
        Assert.Equal(openssl, TlsSessionSummary.OpenSslName(iana));
        Assert.Equal(bits, TlsSessionSummary.CipherBits(iana));
    }
}
