// Test helper: QMQP packets as a client sends them (http://cr.yp.to/proto/qmqp.html):
// a netstring of the message, sender and recipient netstrings, and reply parsing.
using System.Text;

namespace Postfix.Tests.Qmqp;

internal static class QmqpPacket
{
    public static byte[] Netstring(byte[] data) =>
        [.. Encoding.ASCII.GetBytes($"{data.Length}:"), .. data, (byte)','];

    public static byte[] Netstring(string data) => Netstring(Encoding.UTF8.GetBytes(data));

    /// <summary>The whole packet: netstring(netstring(message) netstring(sender) netstring(recipient)...).</summary>
    public static byte[] Build(string message, string sender, params string[] recipients) =>
        Build(Encoding.UTF8.GetBytes(message), sender, recipients);

    public static byte[] Build(byte[] message, string sender, params string[] recipients)
    {
        var inner = new List<byte>();
        inner.AddRange(Netstring(message));
        inner.AddRange(Netstring(sender));
        foreach (var r in recipients) inner.AddRange(Netstring(r));
        return Netstring([.. inner]);
    }

    public static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
