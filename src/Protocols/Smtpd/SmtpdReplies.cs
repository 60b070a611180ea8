// smtpd(8)'s fixed replies as UTF-8 literals, worded as Postfix words them so
// operators' scripts and log greps keep working. Variable replies are formatted
// straight into the output pipe by SmtpdSession.
namespace Postfix.Protocols.Smtpd;

internal static class SmtpdReplies
{
    public static ReadOnlySpan<byte> Ok => "250 2.0.0 Ok\r\n"u8;
    public static ReadOnlySpan<byte> MailOk => "250 2.1.0 Ok\r\n"u8;
    public static ReadOnlySpan<byte> RcptOk => "250 2.1.5 Ok\r\n"u8;
    public static ReadOnlySpan<byte> StartData => "354 End data with <CR><LF>.<CR><LF>\r\n"u8;
    public static ReadOnlySpan<byte> Bye => "221 2.0.0 Bye\r\n"u8;
    public static ReadOnlySpan<byte> Help => "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY\r\n"u8;
    public static ReadOnlySpan<byte> EhloSyntax => "501 Syntax: EHLO hostname\r\n"u8;
    public static ReadOnlySpan<byte> HeloSyntax => "501 Syntax: HELO hostname\r\n"u8;
    public static ReadOnlySpan<byte> MailSyntax => "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"u8;
    public static ReadOnlySpan<byte> RcptSyntax => "501 5.5.4 Syntax: RCPT TO:<address>\r\n"u8;
    public static ReadOnlySpan<byte> DataSyntax => "501 5.5.4 Syntax: DATA\r\n"u8;
    public static ReadOnlySpan<byte> BdatSyntax => "501 5.5.4 Syntax: BDAT count [LAST]\r\n"u8;
    public static ReadOnlySpan<byte> BadSender => "501 5.1.7 Bad sender address syntax\r\n"u8;
    public static ReadOnlySpan<byte> BadRecipient => "501 5.1.3 Bad recipient address syntax\r\n"u8;
    public static ReadOnlySpan<byte> NeedsSmtpUtf8 => "553 5.6.7 Must declare SMTPUTF8 to send unicode address\r\n"u8;
    public static ReadOnlySpan<byte> BadUtf8 => "500 5.5.2 Error: bad UTF-8 syntax\r\n"u8;
    public static ReadOnlySpan<byte> NulInCommand => "500 5.5.2 Error: NUL character in command\r\n"u8;
    public static ReadOnlySpan<byte> LineTooLong => "500 5.5.2 Error: line too long\r\n"u8;
    public static ReadOnlySpan<byte> NestedMail => "503 5.5.1 Error: nested MAIL command\r\n"u8;
    public static ReadOnlySpan<byte> NeedMail => "503 5.5.1 Error: need MAIL command\r\n"u8;
    public static ReadOnlySpan<byte> NeedRcpt => "503 5.5.1 Error: need RCPT command\r\n"u8;
    public static ReadOnlySpan<byte> NoValidRecipients => "554 5.5.1 Error: no valid recipients\r\n"u8;
    public static ReadOnlySpan<byte> DataAfterBdat => "503 5.5.1 Error: DATA cannot be mixed with BDAT\r\n"u8;
    public static ReadOnlySpan<byte> TooManyRecipients => "452 4.5.3 Error: too many recipients\r\n"u8;
    public static ReadOnlySpan<byte> SizeExceeded => "552 5.3.4 Message size exceeds fixed limit\r\n"u8;
    public static ReadOnlySpan<byte> BadSize => "501 5.5.4 Bad message size syntax\r\n"u8;
    public static ReadOnlySpan<byte> BadBody => "501 5.5.4 Unsupported BODY parameter\r\n"u8;
    public static ReadOnlySpan<byte> BadRet => "501 5.5.4 Bad RET parameter syntax\r\n"u8;
    public static ReadOnlySpan<byte> BadEnvid => "501 5.5.4 Bad ENVID parameter syntax\r\n"u8;
    public static ReadOnlySpan<byte> BadNotify => "501 5.5.4 Error: Bad NOTIFY parameter syntax\r\n"u8;
    public static ReadOnlySpan<byte> BadOrcpt => "501 5.5.4 Error: Bad ORCPT parameter syntax\r\n"u8;
    public static ReadOnlySpan<byte> UnsupportedOption => "555 5.5.4 Unsupported option\r\n"u8;
    public static ReadOnlySpan<byte> NotRecognized => "502 5.5.2 Error: command not recognized\r\n"u8;
    public static ReadOnlySpan<byte> VrfyDisabled => "502 5.5.1 VRFY command is disabled\r\n"u8;
    public static ReadOnlySpan<byte> AuthNotEnabled => "503 5.5.1 Error: authentication not enabled\r\n"u8;
    public static ReadOnlySpan<byte> StartTlsNotOffered => "502 5.5.1 Error: command not implemented\r\n"u8;
    public static ReadOnlySpan<byte> StartTlsSyntax => "501 5.5.4 Syntax: STARTTLS\r\n"u8;
    public static ReadOnlySpan<byte> TlsAlreadyActive => "554 5.5.1 Error: TLS already active\r\n"u8;
    public static ReadOnlySpan<byte> ReadyToStartTls => "220 2.0.0 Ready to start TLS\r\n"u8;
    public static ReadOnlySpan<byte> MustStartTls => "530 5.7.0 Must issue a STARTTLS command first\r\n"u8;
    public static ReadOnlySpan<byte> AlreadyAuthenticated => "503 5.5.1 Error: already authenticated\r\n"u8;
    public static ReadOnlySpan<byte> AuthInTransaction => "503 5.5.1 Error: MAIL transaction in progress\r\n"u8;
    public static ReadOnlySpan<byte> AuthSyntax => "501 5.5.4 Syntax: AUTH mechanism\r\n"u8;
    public static ReadOnlySpan<byte> AuthBadMechanism => "535 5.7.8 Error: authentication failed: Invalid authentication mechanism\r\n"u8;
    public static ReadOnlySpan<byte> AuthAborted => "501 5.7.0 Authentication aborted\r\n"u8;
    // RFC 4954 section 4: an undecodable response is 501 5.5.2.
    public static ReadOnlySpan<byte> AuthBadBase64 => "501 5.5.2 Error: invalid base64 data in authentication response\r\n"u8;
    public static ReadOnlySpan<byte> AuthLineTooLong => "500 5.5.6 Authentication exchange line is too long\r\n"u8;
    public static ReadOnlySpan<byte> AuthOk => "235 2.7.0 Authentication successful\r\n"u8;
    public static ReadOnlySpan<byte> QueueError => "451 4.3.0 Error: queue file write error\r\n"u8;
    public static ReadOnlySpan<byte> VrfyOk => "252 2.0.0 Send some mail, I'll try my best\r\n"u8;
}
