// Runs a |command destination or mailbox_command with the message on standard
// input (Postfix global/pipe_command.c as used by local/command.c): /bin/sh -c
// COMMAND, as the given user when we are root (setpriv drops to the uid/gid,
// no supplementary groups), a clean environment (PATH, export_environment and
// the recipient variables), command_time_limit, and a bounded capture of its
// output for the bounce text. Exit 0 is delivered, a <sysexits.h> code maps to
// its status (EX_TEMPFAIL 75 defers), any other status bounces; output that
// starts with an enhanced status code overrides the exit status. The command
// text is trusted (aliases, .forward of the recipient); the message and the
// environment values derived from the address are not, so values are
// censored by the caller with command_expansion_filter.
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Postfix.Core.Mailbox;

namespace Postfix.Core.Local;

public static partial class LocalCommandRunner
{
    private const int MaxOutput = 2048;
    private const string Shell = "/bin/sh";
    private const string DefaultPath = "/usr/bin:/bin";

    public sealed record Request(
        string Command,
        DeliveryRights Rights,
        IReadOnlyList<KeyValuePair<string, string>> Environment,
        string WorkingDirectory,
        TimeSpan TimeLimit);

    public static async Task<MailboxResult> RunAsync(Request r, ReadOnlyMemory<byte> content, MailCopyFlags flags,
        MailCopyEnvelope envelope, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = r.WorkingDirectory,
        };
        if (r.Rights.Switches)
        {
            var setpriv = new[] { "/usr/bin/setpriv", "/bin/setpriv" }.FirstOrDefault(File.Exists);
            if (setpriv is null) return MailboxResult.Defer("4.3.0", "cannot run command as another user: setpriv(1) not found");
            psi.FileName = setpriv;
            foreach (var a in new[] { $"--reuid={r.Rights.Uid}", $"--regid={r.Rights.Gid}", "--clear-groups", "--", Shell, "-c", r.Command })
                psi.ArgumentList.Add(a);
        }
        else
        {
            psi.FileName = Shell;
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(r.Command);
        }
        psi.Environment.Clear();
        psi.Environment["PATH"] = DefaultPath;
        foreach (var (k, v) in r.Environment) psi.Environment[k] = v;

        Process process;
        try { process = Process.Start(psi) ?? throw new InvalidOperationException("no process"); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return MailboxResult.Defer("4.3.0", $"cannot execute command \"{r.Command}\": {e.Message}");
        }

        using (process)
        {
            var output = new BoundedText(MaxOutput);
            var stdout = output.DrainAsync(process.StandardOutput.BaseStream);
            var stderr = output.DrainAsync(process.StandardError.BaseStream);
            var stdin = Task.Run(() =>
            {
                try
                {
                    using var s = process.StandardInput.BaseStream;
                    MailCopy.Write(s, content.Span, flags, envelope);
                }
                catch (IOException) { } // the command need not read everything (EPIPE)
            }, CancellationToken.None);

            bool timedOut = false;
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                limit.CancelAfter(r.TimeLimit);
                try { await process.WaitForExitAsync(limit.Token).ConfigureAwait(false); }
                catch (OperationCanceledException)
                {
                    timedOut = !cancellationToken.IsCancellationRequested;
                    try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                    await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                    if (!timedOut) throw;
                }
            }
            await Task.WhenAll(stdin, stdout, stderr).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None)
                .ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            return Interpret(r.Command, timedOut ? null : process.ExitCode, output.Text);
        }
    }

    /// <summary>pipe_command()'s status: exit code (null = killed for the time limit) and output.</summary>
    public static MailboxResult Interpret(string command, int? exitCode, string output)
    {
        string suffix = output.Length > 0 ? ". Command output: " + output : "";
        if (exitCode is null)
            return MailboxResult.Bounce("5.3.0", $"Command time limit exceeded: \"{command}\"{suffix}");
        if (exitCode == 0) return MailboxResult.Ok;
        var m = EnhancedStatus().Match(output);
        if (m.Success)
        {
            string dsn = m.Groups[1].Value;
            return dsn[0] == '4' ? MailboxResult.Defer(dsn, output) : MailboxResult.Bounce(dsn, output);
        }
        if (SysExits.Detail(exitCode.Value) is { } d)
            return d.Dsn[0] == '4' ? MailboxResult.Defer(d.Dsn, d.Text + suffix) : MailboxResult.Bounce(d.Dsn, d.Text + suffix);
        return MailboxResult.Bounce("5.3.0", $"Command died with status {exitCode}: \"{command}\"{suffix}");
    }

    [GeneratedRegex(@"^([245]\.\d{1,3}\.\d{1,3})\b")]
    private static partial Regex EnhancedStatus();

    /// <summary>Keeps the first bytes of a command's output as one printable line; drains the rest.</summary>
    private sealed class BoundedText(int max)
    {
        private readonly StringBuilder _text = new();

        public string Text
        {
            get { lock (_text) return _text.ToString().Trim(); }
        }

        public async Task DrainAsync(Stream s)
        {
            var buf = new byte[4096];
            try
            {
                int n;
                while ((n = await s.ReadAsync(buf).ConfigureAwait(false)) > 0)
                {
                    lock (_text)
                    {
                        foreach (char c in Encoding.UTF8.GetString(buf, 0, n))
                        {
                            if (_text.Length >= max) break;
                            _text.Append(c is '\r' or '\n' or '\t' ? ' ' : char.IsControl(c) ? '?' : c);
                        }
                    }
                }
            }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
        }
    }
}
