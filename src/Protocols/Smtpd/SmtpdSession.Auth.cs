// smtpd(8) AUTH (RFC 4954; Postfix smtpd_sasl_proto.c + smtpd_sasl_glue.c) with
// the PLAIN (RFC 4616) and LOGIN mechanisms, decoded here and verified by the
// smtpd_sasl_type back end. Everything the client sends is untrusted: response
// lines are bounded by smtpd_sasl_response_limit before they are decoded,
// base64 is decoded strictly, "*" cancels, and every failure is an error for
// smtpd_hard_error_limit plus a count in the per-client failure window.
using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;
using System.Text.Unicode;
using Postfix.Protocols.Sasl;

namespace Postfix.Protocols.Smtpd;

public sealed partial class SmtpdSession
{
    private enum AuthStep : byte { None, PlainResponse, LoginUser, LoginPassword }

    private const int MaxAuthNameLength = 255;
    private AuthStep _authStep;
    private string? _authMethod, _authUser, _authPassword;
    private string? _saslUser, _saslMethod;

    private Next Auth(ReadOnlySpan<byte> arg)
    {
        _stats.Auth.Total++;
        // smtpd_tls_auth_only: without TLS, AUTH is simply not enabled (Postfix answers 503 too).
        if (!_s.OffersAuth(_tls is not null)) return Error(SmtpdReplies.AuthNotEnabled);
        if (_saslUser is not null) return Error(SmtpdReplies.AlreadyAuthenticated);
        if (_msg.HasSender) return Error(SmtpdReplies.AuthInTransaction);
        arg = SmtpCommandParser.Trim(arg);
        int sp = arg.IndexOf((byte)' ');
        var mech = sp < 0 ? arg : arg[..sp];
        var initial = sp < 0 ? default : SmtpCommandParser.Trim(arg[sp..]);
        if (mech.IsEmpty || initial.Contains((byte)' ')) return Error(SmtpdReplies.AuthSyntax);

        if (_clientIp is not null && !_s.IsEventLimitException(_clientIp))
        {
            if (_s.ClientAuthFailureLimit > 0 && _server.AuthFailures(_clientIp, _s) >= _s.ClientAuthFailureLimit)
                return TooManyAuthFailures();
            if (_s.ClientAuthRateLimit > 0)
            {
                int rate = _server.CountAuthCommand(_clientIp, _s);
                if (rate > _s.ClientAuthRateLimit)
                {
                    _server.Log.Info("smtpd", _pid, $"warning: AUTH command rate limit exceeded: {rate} from {_clientLabel} for service smtp");
                    WriteLine($"450 4.7.1 Error: too many AUTH commands from {_clientAddr}");
                    return Error(default);
                }
            }
        }

        if (Ascii.EqualsIgnoreCase(mech, "PLAIN"u8)) _authMethod = "PLAIN";
        else if (Ascii.EqualsIgnoreCase(mech, "LOGIN"u8)) _authMethod = "LOGIN";
        else return Error(SmtpdReplies.AuthBadMechanism);

        if (initial.IsEmpty)
        {
            // No initial response: an empty challenge for PLAIN, "Username:" for LOGIN.
            _authStep = _authMethod == "PLAIN" ? AuthStep.PlainResponse : AuthStep.LoginUser;
            Write(_authStep == AuthStep.PlainResponse ? "334 \r\n"u8 : "334 VXNlcm5hbWU6\r\n"u8);
            _phase = Phase.AuthResponse;
            return Next.NeedMore;
        }
        // RFC 4954: "=" is an initial response of zero length.
        _authStep = _authMethod == "PLAIN" ? AuthStep.PlainResponse : AuthStep.LoginUser;
        return AuthResponse(initial.SequenceEqual("="u8) ? default : initial, isInitial: true);
    }

    /// <summary>One client response (base64 text without CRLF), initial or to a 334 challenge.</summary>
    private Next AuthResponse(ReadOnlySpan<byte> line, bool isInitial = false)
    {
        _phase = Phase.Command;
        if (!isInitial && line.Length == 1 && line[0] == (byte)'*')
        {
            _server.Log.Info("smtpd", _pid, $"warning: {_clientLabel}: SASL {_authMethod} authentication aborted");
            EndAuth();
            return Error(SmtpdReplies.AuthAborted);
        }
        var decoded = new byte[Base64.GetMaxDecodedFromUtf8Length(line.Length)];
        if (Base64.DecodeFromUtf8(line, decoded, out _, out int n) != System.Buffers.OperationStatus.Done)
        {
            EndAuth();
            return Error(SmtpdReplies.AuthBadBase64);
        }
        var data = decoded.AsSpan(0, n);
        switch (_authStep)
        {
            case AuthStep.PlainResponse:
                // authzid NUL authcid NUL passwd; a different authzid (proxy authorization) is refused.
                int a = data.IndexOf((byte)0);
                int b = a < 0 ? -1 : data[(a + 1)..].IndexOf((byte)0);
                if (b < 0 || data[(a + 1 + b + 1)..].Contains((byte)0)) return AuthFailedBeforeCheck();
                var authz = data[..a];
                var user = data.Slice(a + 1, b);
                var pass = data[(a + 1 + b + 1)..];
                if (!authz.IsEmpty && !authz.SequenceEqual(user)) return AuthFailedBeforeCheck();
                return Credentials(user, pass);
            case AuthStep.LoginUser:
                if (!IsAuthName(data)) return AuthFailedBeforeCheck();
                _authUser = Encoding.UTF8.GetString(data);
                _authStep = AuthStep.LoginPassword;
                Write("334 UGFzc3dvcmQ6\r\n"u8);
                _phase = Phase.AuthResponse;
                return Next.NeedMore;
            case AuthStep.LoginPassword:
                return Credentials(Encoding.UTF8.GetBytes(_authUser!), data);
            default:
                EndAuth();
                return Error(SmtpdReplies.AuthAborted);
        }
    }

    private Next Credentials(ReadOnlySpan<byte> user, ReadOnlySpan<byte> pass)
    {
        if (!IsAuthName(user) || !Utf8.IsValid(pass)) return AuthFailedBeforeCheck();
        _authUser = Encoding.UTF8.GetString(user);
        _authPassword = Encoding.UTF8.GetString(pass);
        _authStep = AuthStep.None;
        return Next.Authenticate;
    }

    // Usernames end up in the maillog and (smtpd_sasl_authenticated_header) in Received:,
    // so no control characters and no line breaks, whatever the back end would accept.
    private static bool IsAuthName(ReadOnlySpan<byte> name) =>
        !name.IsEmpty && name.Length <= MaxAuthNameLength && Utf8.IsValid(name)
        && name.IndexOfAnyInRange((byte)0, (byte)0x1f) < 0 && !name.Contains((byte)0x7f);

    // A malformed exchange is a failed authentication, answered and counted as one.
    private Next AuthFailedBeforeCheck()
    {
        _authUser ??= "";
        return AuthFailed(SaslVerdict.Failed);
    }

    /// <summary>Asks the back end (off the parse loop: it may hash or talk to Dovecot) and replies.</summary>
    private async Task<Next> AuthenticateAsync()
    {
        SaslVerdict verdict;
        try
        {
            using var cts = new CancellationTokenSource(_s.Timeout);
            verdict = await _s.Sasl!.VerifyAsync(_authUser!, _authPassword!, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or TimeoutException)
        {
            verdict = SaslVerdict.TempFail("authentication service unavailable");
            _server.Log.Info("smtpd", _pid, $"warning: SASL authentication problem: {e.Message}");
        }
        _authPassword = null;
        _lastActivity = Environment.TickCount64;
        if (verdict.Outcome != SaslOutcome.Ok) return AuthFailed(verdict);
        _saslUser = _authUser;
        _saslMethod = _authMethod;
        EndAuth();
        _stats.Auth.Ok++;
        Write(SmtpdReplies.AuthOk);
        return Next.NeedMore;
    }

    private Next AuthFailed(SaslVerdict verdict)
    {
        _server.Log.Info("smtpd", _pid, $"warning: {_clientLabel}: SASL {_authMethod} authentication failed: {verdict.Reason}");
        EndAuth();
        if (verdict.Outcome == SaslOutcome.TempFail)
        {
            WriteLine($"454 4.7.0 Temporary authentication failure: {verdict.Reason}");
            return Error(default);
        }
        bool blocked = false;
        if (_clientIp is not null && _s.ClientAuthFailureLimit > 0 && !_s.IsEventLimitException(_clientIp))
            blocked = _server.RecordAuthFailure(_clientIp, _s) >= _s.ClientAuthFailureLimit;
        WriteLine($"535 5.7.8 Error: authentication failed: {verdict.Reason}");
        var next = Error(default);
        return blocked && next != Next.Close ? TooManyAuthFailures() : next;
    }

    /// <summary>OUR smtpd_client_auth_failure_limit: 421 and disconnect while the client's window is full.</summary>
    private Next TooManyAuthFailures()
    {
        _server.Log.Info("smtpd", _pid, $"warning: {_clientLabel}: too many failed AUTH attempts (smtpd_client_auth_failure_limit {_s.ClientAuthFailureLimit} per {(int)_s.AnvilRateTimeUnit.TotalSeconds}s)");
        WriteLine($"421 4.7.0 {_s.MyHostname} Error: too many failed authentication attempts");
        return Next.Close;
    }

    private void EndAuth()
    {
        _authStep = AuthStep.None;
        _authPassword = null;
        if (_phase == Phase.AuthResponse) _phase = Phase.Command;
    }

    /// <summary>", sasl_method=PLAIN, sasl_username=user" for the client= log line, or "".</summary>
    private string SaslLogSuffix => _saslUser is null ? "" : $", sasl_method={_saslMethod}, sasl_username={_saslUser}";
}
