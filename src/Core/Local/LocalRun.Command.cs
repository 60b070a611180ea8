// local(8)'s |command and mailbox_command deliveries (Postfix local/command.c):
// once per command and user, with the recipient's rights (default_privs when
// there is no user context, never root), the environment local(8) documents
// (HOME, SHELL, LOGNAME, USER, SENDER, RECIPIENT, LOCAL, DOMAIN, EXTENSION,
// ORIGINAL_RECIPIENT, CLIENT_*) censored with command_expansion_filter, in
// command_execution_directory or the queue directory.
using Postfix.Core.Mailbox;

namespace Postfix.Core.Local;

internal sealed partial class LocalRun
{
    private async ValueTask CommandAsync(LocalState state, string command)
    {
        state = state with { Level = state.Level + 1 };
        var rights = state.Rights.Uid == 0 ? DefaultPrivs() : RightsOf(state.Rights);
        if (!_dup.Add($"command {state.User}:{rights.Uid} {command}")) return;

        var env = new List<KeyValuePair<string, string>>();
        void Add(string name, string? value)
        {
            if (string.IsNullOrEmpty(value)) return;
            var censored = string.Create(value.Length, (value, _s.CommandExpansionFilter), static (span, a) =>
            {
                for (int i = 0; i < span.Length; i++) span[i] = a.CommandExpansionFilter.Contains(a.value[i]) ? a.value[i] : '_';
            });
            env.Add(new(name, censored));
        }
        foreach (var name in _s.ExportEnvironment)
            Add(name, Environment.GetEnvironmentVariable(name));
        Add("HOME", state.Rights.Home);
        Add("LOGNAME", state.User);
        Add("USER", state.User);
        env.Add(new("SENDER", Censor(Message.Sender)));
        Add("RECIPIENT", state.Address);
        Add("LOCAL", state.Local);
        Add("SHELL", state.Rights.Shell);
        Add("DOMAIN", state.Domain);
        Add("EXTENSION", state.Extension);
        Add("ORIGINAL_RECIPIENT", Top.Address);
        Add("CLIENT_HOSTNAME", Message.ClientName);
        Add("CLIENT_ADDRESS", Message.ClientAddress);
        Add("CLIENT_HELO", Message.Helo);
        Add("CLIENT_PROTOCOL", Message.Protocol);

        string cwd = _s.QueueDirectory;
        if (_s.CommandExecutionDirectory.Trim().Length > 0)
        {
            cwd = LocalExpand.Expand(_s.CommandExecutionDirectory.Trim(), Attributes(state), _s.CommandExpansionFilter, out var st);
            if ((st & LocalExpand.Status.Error) != 0)
            {
                Warn($"bad parameter value syntax for command_execution_directory: {_s.CommandExecutionDirectory}");
                Defer(state, "4.3.5", "mail system configuration error");
                return;
            }
        }
        if (!Directory.Exists(cwd)) cwd = "/";

        var flags = _s.DeliveredToCommand ? MailCopyFlags.Command : MailCopyFlags.Command & ~MailCopyFlags.Delivered;
        var request = new LocalCommandRunner.Request(command, rights, env, cwd, _s.CommandTimeLimit);
        var r = await LocalCommandRunner.RunAsync(request, Message.Content, flags, Envelope(state), _ct).ConfigureAwait(false);
        if (r.Delivered) Sent(state, $"delivered to command: {command}");
        else Record(state, Status(r), r.Dsn, r.Reason);

        string Censor(string value) => string.Concat(value.Select(c => _s.CommandExpansionFilter.Contains(c) ? c : '_'));
    }

    /// <summary>default_privs from the passwd file; nobody's conventional 65534 when it is not listed.</summary>
    private DeliveryRights DefaultPrivs()
    {
        if (_s.Passwd.ByName(_s.DefaultPrivs) is { } pw && pw.Uid != 0) return new DeliveryRights(pw.Uid, pw.Gid);
        return new DeliveryRights(65534, 65534);
    }
}
