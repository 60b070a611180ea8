// The embedded master.cf used when the configuration directory has none (man 5 master format).
// OUR default: the SMTP server listens on port 2525 (unprivileged) rather than smtp/25.
// Compiled-in, trusted text.
namespace Postfix.Core.Config;

public static class DefaultMasterCf
{
    public const string Text = """
        # service type  private unpriv  chroot  wakeup  maxproc command + args
        #               (yes)   (yes)   (no)    (never) (100)
        # ==========================================================================
        2525      inet  n       -       n       -       -       smtpd
        pickup    unix  n       -       n       60      1       pickup
        cleanup   unix  n       -       n       -       0       cleanup
        qmgr      unix  n       -       n       300     1       qmgr
        smtp      unix  -       -       n       -       -       smtp
        relay     unix  -       -       n       -       -       smtp
        lmtp      unix  -       -       n       -       -       lmtp
        local     unix  -       n       n       -       -       local
        virtual   unix  -       n       n       -       -       virtual
        bounce    unix  -       -       n       -       0       bounce
        error     unix  -       -       n       -       -       error
        retry     unix  -       -       n       -       -       error
        """;
}
