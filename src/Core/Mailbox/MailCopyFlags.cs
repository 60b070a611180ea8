// What mail_copy() adds around a message when it leaves the queue for a
// mailbox, maildir, file or command (Postfix global/mail_copy.h MAIL_COPY_*).
// Compiled-in choices; no external input.
namespace Postfix.Core.Mailbox;

[Flags]
public enum MailCopyFlags
{
    None = 0,
    /// <summary>"From sender  asctime" envelope line first.</summary>
    From = 1,
    /// <summary>'>' before body lines that start with "From ".</summary>
    Quote = 2,
    /// <summary>"Return-Path: &lt;sender&gt;".</summary>
    ReturnPath = 4,
    /// <summary>"X-Original-To: recipient as given to the MTA".</summary>
    OrigRcpt = 8,
    /// <summary>"Delivered-To: final recipient".</summary>
    Delivered = 16,
    /// <summary>An empty line after the message, so the next From_ line is found.</summary>
    Blank = 32,

    /// <summary>UNIX mbox: everything (mail_copy.h MAIL_COPY_MBOX).</summary>
    Mbox = From | Quote | ReturnPath | OrigRcpt | Delivered | Blank,
    /// <summary>Maildir: one message per file, no From_ line, no quoting.</summary>
    Maildir = ReturnPath | OrigRcpt | Delivered,
    /// <summary>External command: From_ line and headers, no quoting, no blank line.</summary>
    Command = From | ReturnPath | OrigRcpt | Delivered,
}
