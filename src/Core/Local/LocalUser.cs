// Postfix local(8)'s USER_ATTR: whose rights a /file or |command delivery uses
// and what $home/$shell it sees. Uid 0 means "no user context": such
// deliveries run with default_privs, never as root.
// Values come from the passwd file (trusted system data).
namespace Postfix.Core.Local;

public readonly record struct LocalUser(int Uid, int Gid, string? Home, string? Shell, string? Logname)
{
    public static LocalUser None { get; } = new(0, 0, null, null, null);

    public static LocalUser From(PasswdEntry pw) => new(pw.Uid, pw.Gid, pw.Home, pw.Shell, pw.Name);
}
