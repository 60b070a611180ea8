// What a scripted FakeSmtpServer says at each step; defaults to a Postfix-like
// ESMTP server that accepts everything.
using System.Text;

namespace Postfix.Tests.Smtp;

/// <summary>What a scripted fake server says. Defaults: a Postfix-like ESMTP server accepting everything.</summary>
internal sealed class FakeSmtpScript
{
    /// <summary>The banner; null = never say anything.</summary>
    public string? Greeting { get; init; } = "220 fake.example ESMTP";
    public string[] Extensions { get; init; } = ["PIPELINING", "SIZE 10240000", "8BITMIME", "DSN", "ENHANCEDSTATUSCODES"];
    public string? EhloReply { get; init; }
    public string Helo { get; init; } = "250 fake.example";
    public Func<string, string> Mail { get; init; } = _ => "250 2.1.0 Ok";
    public Func<string, string> Rcpt { get; init; } = _ => "250 2.1.5 Ok";
    public string Data { get; init; } = "354 End data with <CR><LF>.<CR><LF>";
    public bool SilentAfterData { get; init; }
    /// <summary>A pause after the final dot, before the reply (a slow receiver).</summary>
    public TimeSpan EndOfDataDelay { get; init; }
    /// <summary>Replies after the final dot: one for SMTP, one per accepted RCPT for LMTP.</summary>
    public Func<IReadOnlyList<string>, byte[], IEnumerable<string>> EndOfData { get; init; } =
        (_, _) => ["250 2.0.0 Ok: queued as ABC123"];

    public string Ehlo(string verb)
    {
        if (EhloReply != null) return EhloReply;
        var lines = new List<string> { "fake.example" };
        lines.AddRange(Extensions);
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Count; i++) sb.Append(i < lines.Count - 1 ? "250-" : "250 ").Append(lines[i]).Append("\r\n");
        return sb.ToString();
    }
}
