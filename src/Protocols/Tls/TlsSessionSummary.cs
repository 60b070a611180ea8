// The one-line description of a finished TLS handshake that Postfix puts in
// its logs and Received: headers (tls/tls_misc.c tls_log_summary):
// "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)". Cipher names
// are OpenSSL's, as Postfix shows them (TLS 1.2 suites are converted from the
// IANA names .NET reports). Input: the local SslStream's negotiated state.
using System.Net.Security;

namespace Postfix.Protocols.Tls;

public sealed record TlsSessionSummary(string Protocol, string Cipher, int Bits)
{
    public static TlsSessionSummary From(SslStream ssl)
    {
        var iana = ssl.NegotiatedCipherSuite.ToString();
        return new TlsSessionSummary(TlsProtocolList.Name(ssl.SslProtocol), OpenSslName(iana), CipherBits(iana));
    }

    private string? _text;

    /// <summary>"TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", built once per session.</summary>
    public string Text => _text ??= $"{Protocol} with cipher {Cipher} ({Bits}/{Bits} bits)";

    public override string ToString() => Text;

    /// <summary>
    /// TLS 1.3 suites keep their IANA name in OpenSSL; TLS 1.2 ECDHE/DHE suites
    /// read e.g. "ECDHE-RSA-AES256-GCM-SHA384". Unknown shapes keep the IANA name.
    /// </summary>
    internal static string OpenSslName(string iana)
    {
        const string with = "_WITH_";
        int w = iana.IndexOf(with, StringComparison.Ordinal);
        if (!iana.StartsWith("TLS_", StringComparison.Ordinal) || w < 0) return iana;
        var kx = iana[4..w].Replace('_', '-');                 // ECDHE_RSA -> ECDHE-RSA
        var cipher = iana[(w + with.Length)..];                // AES_256_GCM_SHA384
        cipher = cipher.Replace("AES_128", "AES128").Replace("AES_256", "AES256")
            .Replace("CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305").Replace('_', '-');
        if (kx == "RSA") return cipher;                        // TLS_RSA_WITH_AES_128_GCM_SHA256 -> AES128-GCM-SHA256
        return kx + "-" + cipher;
    }

    internal static int CipherBits(string iana) =>
        iana.Contains("AES_128", StringComparison.Ordinal) ? 128
        : iana.Contains("AES_256", StringComparison.Ordinal) || iana.Contains("CHACHA20", StringComparison.Ordinal) ? 256
        : iana.Contains("3DES", StringComparison.Ordinal) ? 112
        : 0;
}
