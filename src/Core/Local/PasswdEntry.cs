// One passwd(5) record as getpwnam(3) returns it: what local(8) needs to
// deliver as a user (uid, gid, home directory, login shell).
// Parsed from the passwd file by PasswdTable (trusted, bounded).
namespace Postfix.Core.Local;

public sealed record PasswdEntry(string Name, int Uid, int Gid, string Home, string Shell);
