// qmqpd(8)'s reply texts, worded as Postfix qmqpd.c words them (operators and
// QMQP clients such as ezmlm log them verbatim). A reply is one netstring: a
// status byte (K accepted, Z try again later, D permanent failure) and text.
namespace Postfix.Protocols.Qmqpd;

internal static class QmqpdReplies
{
    public const byte Ok = (byte)'K';
    public const byte Retry = (byte)'Z';
    public const byte Hard = (byte)'D';

    /// <summary>Postfix's state->where while receiving each part of the packet.</summary>
    public static string Where(QmqpPart part) => part switch
    {
        QmqpPart.PacketHeader => "receiving QMQP packet header",
        QmqpPart.Content => "receiving message content",
        QmqpPart.Sender => "receiving sender address",
        _ => "receiving recipient address",
    };

    /// <summary>
    /// The reply text for a refused packet. Netstring errors are answered "%s while %s"
    /// (Postfix qmqpd_proto); the others as cleanup status ("Error: ...", qmqpd_send_status).
    /// </summary>
    public static string For(in QmqpPacketReader packet) => packet.Error switch
    {
        QmqpError.Format => "netstring format error while " + Where(packet.Where),
        QmqpError.TooLong => "netstring length exceeds storage limit while " + Where(packet.Where),
        QmqpError.MessageTooLarge => MessageTooLarge,
        QmqpError.BadSender => "Error: bad sender address syntax",
        QmqpError.BadRecipient => "Error: bad recipient address syntax",
        QmqpError.BadVerp => $"Error: Invalid VERP delimiters: \"{(char)packet.VerpDelimiter}=\". Need two characters from \"{QmqpPacketReader.VerpDelimiterFilter}\"",
        _ => "Error: internal error",
    };

    /// <summary>True for the errors Postfix reports through qmqpd_send_status (logged as a warning).</summary>
    public static bool IsCleanupStatus(QmqpError e) => e is not (QmqpError.Format or QmqpError.TooLong);

    public const string MessageTooLarge = "Error: message too large";
    public const string NoRecipients = "Error: no recipients specified";
    public const string QueueWriteError = "Error: queue file write error";

    public static string NotAuthorized(string namaddr) => $"Error: {namaddr} is not authorized to use this service";
}
