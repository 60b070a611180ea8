// How a transaction left its connection: the agent caches, closes or retries on that basis.
namespace Postfix.Protocols.Smtp;

internal enum SmtpTransactionEnd : byte
{
    /// <summary>The protocol is in a known state: RSET makes it reusable.</summary>
    Reusable,
    /// <summary>The transaction ended with the end-of-data reply: the server is ready for the
    /// next MAIL (RFC 5321 4.1.4), so the connection is cached without an RSET round trip.</summary>
    Clean,
    /// <summary>I/O failed, a timeout expired, or the server said 421.</summary>
    Broken,
    /// <summary>A reused connection failed before the server answered anything: nothing was
    /// decided, try again on a fresh connection.</summary>
    RetryFresh,
}
