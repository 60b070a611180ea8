// smtpd(8) verbs: HELO/EHLO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT, HELP,
// VRFY. Replies and limits follow Postfix's defaults and wording. Arguments
// are spans into the input pipe; nothing here allocates on the success path
// except once per message (queue ID log line) and once per HELO name.
using System.Text;
using System.Text.Unicode;
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;
using Postfix.Core.Tables;
using Postfix.Core.Util;

namespace Postfix.Protocols.Smtpd;

public sealed partial class SmtpdSession
{
    private SmtpdStats _stats;
    private SmtpCommand _lastCommand;
    private bool _esmtp;
    private byte[] _helo = [];
    private int _junkCommands;
    private int _rcptOvershoot;

    private string LastCommandName => _phase switch
    {
        Phase.Data => "DATA",
        Phase.Bdat => "BDAT",
        // After the reply to DATA/BDAT LAST, Postfix says END-OF-MESSAGE (smtpd.c: SMTPD_AFTER_DOT).
        _ => _lastCommand switch
        {
            SmtpCommand.Unknown => "CONNECT",
            SmtpCommand.Data or SmtpCommand.Bdat => "END-OF-MESSAGE",
            SmtpCommand.StartTls => "STARTTLS",
            _ => _lastCommand.ToString().ToUpperInvariant(),
        },
    };

    private string QueueIdText => _msg.QueueId.Value == 0 ? "NOQUEUE" : _msg.QueueId.ToString();

    private Next HandleCommand(ReadOnlySpan<byte> line)
    {
        if (line.Contains((byte)0)) { _stats.Unknown.Total++; return Error(SmtpdReplies.NulInCommand); }
        if (!Ascii.IsValid(line) && !Utf8.IsValid(line)) { _stats.Unknown.Total++; return Error(SmtpdReplies.BadUtf8); }
        var cmd = SmtpCommandParser.Parse(line, out var arg);
        _lastCommand = cmd;
        // smtpd_tls_security_level = encrypt: only HELO/EHLO/STARTTLS/NOOP/QUIT before TLS
        // (Postfix's SMTPD_CMD_FLAG_PRE_TLS commands); unknown verbs still get 502.
        if (_tls is null && _s.TlsLevel == SmtpdTlsLevel.Encrypt
            && cmd is not (SmtpCommand.Helo or SmtpCommand.Ehlo or SmtpCommand.StartTls or SmtpCommand.Noop or SmtpCommand.Quit or SmtpCommand.Unknown))
        {
            return Error(SmtpdReplies.MustStartTls);
        }
        switch (cmd)
        {
            case SmtpCommand.Ehlo: return Hello(arg, esmtp: true, ref _stats.Ehlo);
            case SmtpCommand.Helo: return Hello(arg, esmtp: false, ref _stats.Helo);
            case SmtpCommand.Mail: return Mail(arg);
            case SmtpCommand.Rcpt: return Rcpt(arg);
            case SmtpCommand.Data: return Data(arg);
            case SmtpCommand.Bdat: return Bdat(arg);
            case SmtpCommand.Rset:
                _stats.Rset.Total++; _stats.Rset.Ok++;
                ResetTransaction();
                Write(SmtpdReplies.Ok);
                return Junk();
            case SmtpCommand.Noop:
                _stats.Noop.Total++; _stats.Noop.Ok++;
                Write(SmtpdReplies.Ok);
                return Junk();
            case SmtpCommand.Quit:
                _stats.Quit.Total++; _stats.Quit.Ok++;
                Write(SmtpdReplies.Bye);
                return Next.Close;
            case SmtpCommand.Help:
                Write(SmtpdReplies.Help);
                return Next.NeedMore;
            case SmtpCommand.Vrfy:
                _stats.Vrfy.Total++;
                if (_s.DisableVrfy) return Error(SmtpdReplies.VrfyDisabled);
                _stats.Vrfy.Ok++;
                Write(SmtpdReplies.VrfyOk);
                return Junk();
            case SmtpCommand.Auth: return Auth(arg);
            case SmtpCommand.StartTls: return StartTls(arg);
            default:
                _stats.Unknown.Total++;
                return Error(SmtpdReplies.NotRecognized);
        }
    }

    /// <summary>
    /// smtpd_junk_command_limit: past it, each NOOP/RSET/VRFY also counts as an error,
    /// so a client idling on junk commands meets smtpd_hard_error_limit (Postfix smtpd.c).
    /// </summary>
    private Next Junk()
    {
        if (++_junkCommands <= _s.JunkCommandLimit) return Next.NeedMore;
        _errors++;
        return HardErrorLimitReached() ? Next.Close : Next.NeedMore;
    }

    private Next Hello(ReadOnlySpan<byte> arg, bool esmtp, ref SmtpdCounter counter)
    {
        counter.Total++;
        arg = SmtpCommandParser.Trim(arg);
        if (arg.IsEmpty || arg.Contains((byte)' ')) return Error(esmtp ? SmtpdReplies.EhloSyntax : SmtpdReplies.HeloSyntax);
        counter.Ok++;
        if (!arg.SequenceEqual(_helo))
        {
            _helo = arg.ToArray();
            _msg.Helo = Encoding.UTF8.GetString(arg);
        }
        _esmtp = esmtp;
        ResetTransaction();
        if (esmtp) Write(_tls is null ? _s.EhloReply : _s.EhloReplyTls);
        else
        {
            Write("250 "u8);
            Write(_s.HostnameBytes);
            Write("\r\n"u8);
        }
        return Next.NeedMore;
    }

    /// <param name="rateCounted">Again after the cluster counted it (CountRateAsync): the same
    /// argument, parsed again, now past smtpd_client_message_rate_limit.</param>
    private Next Mail(ReadOnlySpan<byte> arg, bool rateCounted = false)
    {
        if (!rateCounted) _stats.Mail.Total++;
        if (_msg.HasSender) return Error(SmtpdReplies.NestedMail);
        var status = SmtpPathParser.TryParse(arg, "FROM:"u8, out var address, out var parameters);
        bool smtpUtf8 = false;
        var body = BodyType.None;
        var ret = DsnRet.None;
        scoped ReadOnlySpan<byte> envid = default;
        while (SmtpPathParser.NextParameter(ref parameters, out var key, out var value))
        {
            if (Ascii.EqualsIgnoreCase(key, "SIZE"u8))
            {
                if (!SmtpPathParser.TryParseDecimal(value, out long size)) return Error(SmtpdReplies.BadSize);
                if (_s.MessageSizeLimit > 0 && size > _s.MessageSizeLimit) return Error(SmtpdReplies.SizeExceeded);
            }
            else if (Ascii.EqualsIgnoreCase(key, "BODY"u8))
            {
                if (Ascii.EqualsIgnoreCase(value, "8BITMIME"u8)) body = BodyType.EightBitMime;
                else if (Ascii.EqualsIgnoreCase(value, "7BIT"u8)) body = BodyType.SevenBit;
                else if (Ascii.EqualsIgnoreCase(value, "BINARYMIME"u8)) body = BodyType.BinaryMime;
                else return Error(SmtpdReplies.BadBody);
            }
            else if (Ascii.EqualsIgnoreCase(key, "SMTPUTF8"u8) && value.IsEmpty) smtpUtf8 = true;
            else if (Ascii.EqualsIgnoreCase(key, "RET"u8))
            {
                // A DSN parameter given twice is a syntax error (Postfix: "if (dsn_ret || ...)").
                if (ret != DsnRet.None) return Error(SmtpdReplies.BadRet);
                if (Ascii.EqualsIgnoreCase(value, "FULL"u8)) ret = DsnRet.Full;
                else if (Ascii.EqualsIgnoreCase(value, "HDRS"u8)) ret = DsnRet.Hdrs;
                else return Error(SmtpdReplies.BadRet);
            }
            else if (Ascii.EqualsIgnoreCase(key, "ENVID"u8))
            {
                if (!envid.IsEmpty || value.IsEmpty || value.Length > 100 || !SmtpPathParser.IsXtext(value)) return Error(SmtpdReplies.BadEnvid);
                envid = value;
            }
            else if (Ascii.EqualsIgnoreCase(key, "AUTH"u8)) { /* RFC 4954 AUTH=<>: accepted, ignored without SASL */ }
            else return Error(SmtpdReplies.UnsupportedOption);
        }
        switch (status)
        {
            case PathStatus.Syntax: return Error(SmtpdReplies.MailSyntax);
            case PathStatus.BadAddress: return Error(SmtpdReplies.BadSender);
            case PathStatus.BadUtf8: return Error(SmtpdReplies.BadUtf8);
            case PathStatus.NeedsSmtpUtf8 when !smtpUtf8: return Error(SmtpdReplies.NeedsSmtpUtf8);
        }
        if (!rateCounted && RateLimit(Anvil.Event.Message, arg) is { } limited) return limited;
        ResetTransaction();
        _msg.SetSender(address);
        _msg.SmtpUtf8 = smtpUtf8;
        _msg.BodyType = body;
        _msg.Ret = ret;
        if (!envid.IsEmpty) _msg.SetEnvId(envid);
        _stats.Mail.Ok++;
        Write(SmtpdReplies.MailOk);
        return Next.NeedMore;
    }

    /// <param name="rateCounted">Again after the cluster counted it (CountRateAsync): the checks
    /// before smtpd_client_recipient_rate_limit are done.</param>
    private Next Rcpt(ReadOnlySpan<byte> arg, bool rateCounted = false)
    {
        if (!rateCounted)
        {
            _stats.Rcpt.Total++;
            if (!_msg.HasSender) return Error(SmtpdReplies.NeedMail);
            if (_msg.RecipientCount >= _s.RecipientLimit)
            {
                // Postfix: the first smtpd_recipient_overshoot_limit refusals are not errors, so a
                // client with too many recipients is not cut off before it can send DATA.
                if (_rcptOvershoot++ < _s.RecipientOvershootLimit)
                {
                    Write(SmtpdReplies.TooManyRecipients);
                    return Next.NeedMore;
                }
                return Error(SmtpdReplies.TooManyRecipients);
            }
            if (RateLimit(Anvil.Event.Recipient, arg) is { } limited) return limited;
        }
        var status = SmtpPathParser.TryParse(arg, "TO:"u8, out var address, out var parameters);
        var notify = DsnNotify.None;
        scoped ReadOnlySpan<byte> orcpt = default;
        while (SmtpPathParser.NextParameter(ref parameters, out var key, out var value))
        {
            if (Ascii.EqualsIgnoreCase(key, "NOTIFY"u8))
            {
                if (notify != DsnNotify.None || !TryParseNotify(value, out notify)) return Error(SmtpdReplies.BadNotify);
            }
            else if (Ascii.EqualsIgnoreCase(key, "ORCPT"u8))
            {
                int semi = value.IndexOf((byte)';');
                if (!orcpt.IsEmpty || semi <= 0 || value.Length > 500 || !SmtpPathParser.IsXtext(value[(semi + 1)..])) return Error(SmtpdReplies.BadOrcpt);
                orcpt = value;
            }
            else return Error(SmtpdReplies.UnsupportedOption);
        }
        switch (status)
        {
            case PathStatus.Syntax: return Error(SmtpdReplies.RcptSyntax);
            case PathStatus.BadAddress: return Error(SmtpdReplies.BadRecipient);
            case PathStatus.BadUtf8: return Error(SmtpdReplies.BadUtf8);
            case PathStatus.NeedsSmtpUtf8 when !_msg.SmtpUtf8: return Error(SmtpdReplies.NeedsSmtpUtf8);
        }
        if (address.IsEmpty) return Error(SmtpdReplies.BadRecipient);
        if (!_s.Restrictions.IsDefault)
        {
            if (_s.Restrictions.NeedsDns)
            {
                // DNS answers first (LoopAsync awaits CheckPendingRcptAsync), then the same checks.
                _pendingRcpt = (address.ToArray(), orcpt.ToArray(), notify);
                return Next.Check;
            }
            if (CheckRestrictions(address) is { } rejected) return rejected;
        }
        // smtpd_relay_restrictions default: permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination.
        else if (!_clientInMyNetworks && _saslUser is null && !_s.IsAcceptedDomain(address))
        {
            string a = Encoding.UTF8.GetString(address);
            _server.Log.Info("smtpd", _pid, $"NOQUEUE: reject: RCPT from {_clientLabel}: 454 4.7.1 <{a}>: Relay access denied; from=<{_msg.SenderString()}> to=<{a}> proto={(_esmtp ? "ESMTP" : "SMTP")} helo=<{_msg.Helo}>");
            Write("454 4.7.1 <"u8);
            Write(address);
            return Error(">: Relay access denied\r\n"u8);
        }
        return AcceptRecipient(address, orcpt, notify);
    }

    private (byte[] Address, byte[] Orcpt, DsnNotify Notify)? _pendingRcpt;
    private readonly HashSet<string> _rblChecked = new(StringComparer.OrdinalIgnoreCase);
    private string? _senderDomainChecked;

    /// <summary>reject_rbl_client / reject_unknown_sender_domain: look up what the lists need, then check and accept.</summary>
    private async Task<Next> CheckPendingRcptAsync()
    {
        var (address, orcpt, notify) = _pendingRcpt!.Value;
        _pendingRcpt = null;
        var ctx = CheckContext();
        foreach (var r in _s.Restrictions.DnsRestrictions)
        {
            if (r.Kind == RestrictionKind.RejectRblClient && _clientIp is not null && _rblChecked.Add(r.Arg))
            {
                if (await _server.Dns.RblAsync(_clientIp, r.Arg).ConfigureAwait(false) is { } txt) ctx.RblListed[r.Arg] = txt;
            }
            else if (r.Kind == RestrictionKind.RejectUnknownSenderDomain)
            {
                var sender = _msg.SenderString();
                int at = sender.LastIndexOf('@');
                var domain = at < 0 ? "" : sender[(at + 1)..].ToLowerInvariant();
                if (domain.Length > 0 && domain != _senderDomainChecked)
                {
                    _senderDomainChecked = domain;
                    ctx.SenderDomain = await _server.Dns.DomainAsync(domain).ConfigureAwait(false);
                }
                else if (domain.Length == 0) ctx.SenderDomain = DomainStatus.Found;
            }
        }
        // The DNS answers may have completed on a socket event thread; the checks look tables up.
        await ThreadPoolHop.If(LookupTables.MayBlock);
        return CheckRestrictions(address) ?? AcceptRecipient(address, orcpt, notify);
    }

    private Next AcceptRecipient(ReadOnlySpan<byte> address, ReadOnlySpan<byte> orcpt, DsnNotify notify)
    {
        if (_msg.QueueId.Value == 0)
        {
            _msg.QueueId = _server.Queue.NewQueueId();
            _server.Log.Info("smtpd", _pid, $"{_msg.QueueId}: client={_clientLabel}{SaslLogSuffix}");
        }
        _msg.AddRecipient(address, orcpt, notify);
        _stats.Rcpt.Ok++;
        Write(SmtpdReplies.RcptOk);
        return Next.NeedMore;
    }

    private static bool TryParseNotify(ReadOnlySpan<byte> value, out DsnNotify notify)
    {
        notify = DsnNotify.None;
        if (Ascii.EqualsIgnoreCase(value, "NEVER"u8)) { notify = DsnNotify.Never; return true; }
        if (value.IsEmpty) return false;
        foreach (var range in value.Split((byte)','))
        {
            var item = value[range];
            if (Ascii.EqualsIgnoreCase(item, "SUCCESS"u8)) notify |= DsnNotify.Success;
            else if (Ascii.EqualsIgnoreCase(item, "FAILURE"u8)) notify |= DsnNotify.Failure;
            else if (Ascii.EqualsIgnoreCase(item, "DELAY"u8)) notify |= DsnNotify.Delay;
            else return false;
        }
        return true;
    }

    private SmtpdCheckContext? _check;

    private SmtpdCheckContext CheckContext() => _check ??= new SmtpdCheckContext
    {
        Client = _clientIp,
        ClientLabel = _clientLabel,
        InMyNetworks = _clientInMyNetworks,
        IsAuthDestination = a => _s.IsAcceptedDomain(Encoding.UTF8.GetBytes(a)),
        UnlistedRecipient = _s.UnlistedRecipient,
        Warn = message => _server.Log.Warning("smtpd", message),
    };

    /// <summary>smtpd_check: the configured restriction lists for this RCPT (or DATA when address is empty).</summary>
    private Next? CheckRestrictions(ReadOnlySpan<byte> address)
    {
        var ctx = CheckContext();
        ctx.UnauthPipelining = _earlyTalker;
        ctx.Authenticated = _saslUser is not null;
        ctx.Helo = _msg.Helo;
        ctx.Sender = _msg.SenderString();
        ctx.Recipient = Encoding.UTF8.GetString(address);
        var r = _s.Restrictions;
        var reply = address.IsEmpty
            ? SmtpdCheck.Evaluate(ctx, r.Client, r.Helo, r.Sender, r.Data)
            : SmtpdCheck.Evaluate(ctx, r.Client, r.Helo, r.Sender, r.Relay, r.Recipient);
        if (reply is null) return null;
        var stage = address.IsEmpty ? "DATA" : "RCPT";
        var to = address.IsEmpty ? "" : $" to=<{ctx.Recipient}>";
        _server.Log.Info("smtpd", _pid, $"NOQUEUE: reject: {stage} from {_clientLabel}: {reply}; from=<{ctx.Sender}>{to} proto={(_esmtp ? "ESMTP" : "SMTP")} helo=<{_msg.Helo}>");
        WriteLine(reply);
        _errors++;
        return HardErrorLimitReached() ? Next.Close : Next.NeedMore;
    }

    private Next Data(ReadOnlySpan<byte> arg)
    {
        _stats.Data.Total++;
        if (!arg.IsEmpty) return Error(SmtpdReplies.DataSyntax);
        if (_usedBdat) return Error(SmtpdReplies.DataAfterBdat);
        // Postfix data_cmd: inside a transaction a pipelining client may send DATA
        // before it learns that every RCPT was refused, so that is not a sequence error.
        if (_msg.RecipientCount == 0) return Error(_msg.HasSender ? SmtpdReplies.NoValidRecipients : SmtpdReplies.NeedRcpt);
        if (_s.Restrictions.Data.Length > 0 && CheckRestrictions(default) is { } rejected) return rejected;
        StartContent();
        _data = new SmtpDataReader(_s.MessageSizeLimit, _s.ForbidBareNewline);
        _phase = Phase.Data;
        Write(SmtpdReplies.StartData);
        return Next.NeedMore;
    }

    private Next Bdat(ReadOnlySpan<byte> arg)
    {
        _stats.Bdat.Total++;
        arg = SmtpCommandParser.Trim(arg);
        int sp = arg.IndexOf((byte)' ');
        var sizeText = sp < 0 ? arg : arg[..sp];
        var rest = sp < 0 ? default : SmtpCommandParser.Trim(arg[sp..]);
        bool last = false;
        if (!rest.IsEmpty)
        {
            if (!Ascii.EqualsIgnoreCase(rest, "LAST"u8)) return BdatDesync();
            last = true;
        }
        if (!SmtpPathParser.TryParseDecimal(sizeText, out long size)) return BdatDesync();
        _bdatRemaining = size;
        _bdatChunkSize = size;
        _bdatLast = last;
        _bdatFailedTooBig = false;
        _bdatNoRcpt = !_msg.HasSender || _msg.RecipientCount == 0;
        if (!_bdatNoRcpt && !_usedBdat)
        {
            _usedBdat = true;
            StartContent();
        }
        _phase = Phase.Bdat;
        if (size == 0)
        {
            // Zero-length chunk: nothing to read; complete now.
            var reader = new System.Buffers.SequenceReader<byte>(System.Buffers.ReadOnlySequence<byte>.Empty);
            return ProcessBdat(ref reader);
        }
        return Next.NeedMore;
    }

    /// <summary>A BDAT we cannot size: the chunk bytes that follow would be read as commands, so disconnect.</summary>
    private Next BdatDesync()
    {
        Write(SmtpdReplies.BdatSyntax);
        WriteLine($"421 4.5.0 {_s.MyHostname} Error: cannot resynchronize after bad BDAT");
        return Next.Close;
    }

    private void StartContent()
    {
        Span<byte> id = stackalloc byte[QueueId.Length];
        _msg.QueueId.Format(id);
        var protocol = ReceivedProtocol();
        _msg.Protocol = _esmtp ? "ESMTP" : "SMTP";
        ReadOnlySpan<byte> single = default;
        if (_msg.RecipientCount == 1)
        {
            // The recipient block starts with u16 length + address.
            var block = _msg.RecipientBlock;
            int len = block[0] | block[1] << 8;
            single = block.Slice(2, len);
        }
        ReceivedHeader.Write(_msg.Content, _helo, "unknown", _clientAddr, _s.HostnameBytes, protocol, id, single,
            DateTimeOffset.UtcNow, _s.TlsReceivedHeader ? _tls?.Text : null, _s.SaslAuthenticatedHeader ? _saslUser : null);
        _receivedLength = _msg.Content.Length;
    }

    // RFC 3848 / RFC 6531 "with" names: S for TLS, A for an authenticated client (no allocation).
    private ReadOnlySpan<byte> ReceivedProtocol()
    {
        if (!_esmtp) return "SMTP"u8;
        int k = (_tls is not null ? 1 : 0) | (_saslUser is not null ? 2 : 0);
        return (_msg.SmtpUtf8, k) switch
        {
            (false, 0) => "ESMTP"u8,
            (false, 1) => "ESMTPS"u8,
            (false, 2) => "ESMTPA"u8,
            (false, _) => "ESMTPSA"u8,
            (true, 0) => "UTF8SMTP"u8,
            (true, 1) => "UTF8SMTPS"u8,
            (true, 2) => "UTF8SMTPA"u8,
            (true, _) => "UTF8SMTPSA"u8,
        };
    }

    private void ResetTransaction()
    {
        _msg.Reset();
        _rcptOvershoot = 0;
        _usedBdat = false;
        _bdatNoRcpt = false;
        _bdatFailedTooBig = false;
        if (_phase is Phase.Data or Phase.Bdat) _phase = Phase.Command;
    }
}
