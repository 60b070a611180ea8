// Postfix's words for a TLS peer in "... TLS connection established" lines:
// Anonymous (no certificate), Untrusted (no chain to a trusted CA), Trusted
// (chain ok), Verified (chain ok and a required name matched).
namespace Postfix.Protocols.Tls;

public enum TlsPeerTrust : byte { Anonymous, Untrusted, Trusted, Verified }
