// A synchronous scope in which this thread's file operations run with a
// recipient's uid/gid (Postfix set_eugid() around mailbox writes). Linux's
// setfsuid/setfsgid are per thread, so a concurrent delivery on another
// thread is not affected; the scope is a ref struct so it cannot span an
// await (which could resume on another thread). Files created inside belong
// to the recipient and permission checks are the recipient's.
using Postfix.Core.Util;

namespace Postfix.Core.Mailbox;

public ref struct FilesystemIdentity : IDisposable
{
    private readonly bool _changed;
    private readonly uint _savedUid, _savedGid;

    private FilesystemIdentity(uint uid, uint gid)
    {
        _changed = true;
        _savedUid = uid;
        _savedGid = gid;
    }

    /// <summary>Assumes <paramref name="rights"/> when running as root; a no-op otherwise.</summary>
    public static FilesystemIdentity Assume(DeliveryRights rights)
    {
        if (!rights.Switches) return default;
        var (oldUid, oldGid) = UnixFile.SetFilesystemIdentity((uint)rights.Uid, (uint)rights.Gid);
        var now = UnixFile.FilesystemIdentity;
        if (now.Uid != (uint)rights.Uid || now.Gid != (uint)rights.Gid)
        {
            UnixFile.SetFilesystemIdentity(oldUid, oldGid);
            throw new InvalidOperationException($"cannot assume file system identity {rights}");
        }
        return new FilesystemIdentity(oldUid, oldGid);
    }

    public void Dispose()
    {
        if (_changed) UnixFile.SetFilesystemIdentity(_savedUid, _savedGid);
    }
}
