// The envelope facts mail_copy() writes in front of a delivered message.
// Addresses are untrusted envelope data; MailCopy quotes them, never interprets them.
namespace Postfix.Core.Mailbox;

/// <param name="Sender">Envelope sender; empty for the null sender (MAILER-DAEMON in the From_ line).</param>
/// <param name="OrigRcpt">The recipient as given to the MTA (X-Original-To); empty = no header.</param>
/// <param name="Delivered">The final envelope recipient (Delivered-To).</param>
/// <param name="Time">The From_ line's time stamp (local time, asctime format).</param>
public readonly record struct MailCopyEnvelope(string Sender, string OrigRcpt, string Delivered, DateTimeOffset Time);
