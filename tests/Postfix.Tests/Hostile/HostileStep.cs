// One step of a hostile-input case (see corpus/README.md): bytes to send, a
// reply to expect, or the server closing the connection. Test data, trusted.
namespace Postfix.Tests.Hostile;

public enum HostileStepKind : byte
{
    Send,    // write Bytes to the socket (C and S lines)
    Expect,  // read one reply: Code, and the last line starts with Prefix
    Closed,  // the server closes the connection without another byte
}

public sealed record HostileStep(HostileStepKind Kind, byte[] Bytes, int Code, string Prefix, int Line)
{
    public override string ToString() => Kind switch
    {
        HostileStepKind.Send => $"line {Line}: send {Bytes.Length} bytes",
        HostileStepKind.Expect => $"line {Line}: expect {Prefix}",
        _ => $"line {Line}: expect close",
    };
}
