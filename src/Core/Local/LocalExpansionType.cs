// Where a destination came from, for allow_mail_to_commands and
// allow_mail_to_files (postconf(5): "alias, forward, include").
// Internal state; no external input.
namespace Postfix.Core.Local;

[Flags]
public enum LocalExpansionType
{
    None = 0,
    Alias = 1,
    Forward = 2,
    Include = 4,
}
