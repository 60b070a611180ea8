// The few POSIX file calls .NET does not expose, for the delivery agents'
// mailbox code (Postfix util/: safe_open.c, myflock.c, set_eugid.c, sane_link.c):
// open(2) with O_NOFOLLOW/O_EXCL and an exact errno, statx(2) for owner and
// type, flock(2) and fcntl(2) locks, link(2), fchown(2), directory fsync, and
// the per-thread filesystem identity (setfsuid(2)/setfsgid(2)). Linux only;
// flag values for x86_64 and aarch64. Paths come from the callers (trusted
// config or passwd data); nothing here knows about mail.
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Postfix.Core.Util;

[StructLayout(LayoutKind.Sequential, Size = 256)]
internal struct StatxBuffer
{
    public uint Mask;
    public uint BlockSize;
    public ulong Attributes;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public ushort Mode;
}

[StructLayout(LayoutKind.Sequential)]
internal struct FlockRecord
{
    public short Type;
    public short Whence;
    public long Start;
    public long Length;
    public int Pid;
}

public static class UnixFile
{
    public const int ENOENT = 2, EINTR = 4, EAGAIN = 11, EACCES = 13, EEXIST = 17, ENOSPC = 28, EFBIG = 27, ELOOP = 40, EDQUOT = 122, ESTALE = 116;

    private const int OWronly = 0x1, OCreat = 0x40, OExcl = 0x80, OCloexec = 0x80000;
    private const int AtFdCwd = -100, AtSymlinkNofollow = 0x100, AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int LockEx = 2, LockNb = 4, LockUn = 8;
    private const int FSetLk = 6, FWrLck = 1, FUnLck = 2;

    private static readonly bool Arm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;
    private static int ONofollow => Arm64 ? 0x8000 : 0x20000;
    private static int ODirectory => Arm64 ? 0x4000 : 0x10000;

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, out StatxBuffer buffer);

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int Flock(int fd, int operation);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int FcntlLock(int fd, int cmd, ref FlockRecord record);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static extern int Fchown(int fd, int uid, int gid);

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);

    [DllImport("libc", EntryPoint = "unlink", SetLastError = true)]
    private static extern int Unlink([MarshalAs(UnmanagedType.LPUTF8Str)] string path);

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();

    [DllImport("libc", EntryPoint = "getegid")]
    private static extern uint GetEgid();

    [DllImport("libc", EntryPoint = "setfsuid")]
    private static extern int SetFsUid(uint uid);

    [DllImport("libc", EntryPoint = "setfsgid")]
    private static extern int SetFsGid(uint gid);

    public static int EffectiveUid => (int)GetEuid();
    public static int EffectiveGid => (int)GetEgid();

    /// <summary>True when this process runs with effective uid 0.</summary>
    public static bool IsRoot { get; } = OperatingSystem.IsLinux() && GetEuid() == 0;

    /// <summary>strerror(errno), e.g. "Permission denied".</summary>
    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>
    /// open(path, O_WRONLY|O_CREAT|O_NOFOLLOW|O_CLOEXEC [|O_EXCL], mode): a symlink as the last
    /// path component is refused (ELOOP) instead of followed. Returns errno 0 on success.
    /// </summary>
    public static int OpenForWrite(string path, bool exclusive, int mode, out SafeFileHandle? handle)
    {
        int flags = OWronly | OCreat | OCloexec | ONofollow | (exclusive ? OExcl : 0);
        int fd;
        do fd = Open(path, flags, mode);
        while (fd < 0 && Marshal.GetLastPInvokeError() == EINTR);
        if (fd < 0) { handle = null; return Marshal.GetLastPInvokeError(); }
        handle = new SafeFileHandle(fd, ownsHandle: true);
        return 0;
    }

    /// <summary>fstat via statx(AT_EMPTY_PATH). Returns errno 0 on success.</summary>
    public static int Stat(SafeFileHandle handle, out UnixFileStatus status)
    {
        int rc = Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath, StatxBasicStats, out var b);
        status = new UnixFileStatus(b.Mode, b.Uid, b.Gid, b.Nlink);
        return rc == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>stat (following symlinks) via statx. Returns errno 0 on success.</summary>
    public static int StatPath(string path, out UnixFileStatus status)
    {
        int rc = Statx(AtFdCwd, path, 0, StatxBasicStats, out var b);
        status = new UnixFileStatus(b.Mode, b.Uid, b.Gid, b.Nlink);
        return rc == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>lstat via statx(AT_SYMLINK_NOFOLLOW). Returns errno 0 on success.</summary>
    public static int LStat(string path, out UnixFileStatus status)
    {
        int rc = Statx(AtFdCwd, path, AtSymlinkNofollow, StatxBasicStats, out var b);
        status = new UnixFileStatus(b.Mode, b.Uid, b.Gid, b.Nlink);
        return rc == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>flock(LOCK_EX|LOCK_NB). 0, or errno (EWOULDBLOCK = EAGAIN when held elsewhere).</summary>
    public static int TryFlock(SafeFileHandle handle) =>
        Flock((int)handle.DangerousGetHandle(), LockEx | LockNb) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static void Funlock(SafeFileHandle handle) => Flock((int)handle.DangerousGetHandle(), LockUn);

    /// <summary>fcntl(F_SETLK, F_WRLCK) over the whole file. 0, or errno (EAGAIN/EACCES when held).</summary>
    public static int TryFcntlLock(SafeFileHandle handle)
    {
        var r = new FlockRecord { Type = FWrLck, Whence = 0, Start = 0, Length = 0 };
        return FcntlLock((int)handle.DangerousGetHandle(), FSetLk, ref r) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public static void FcntlUnlock(SafeFileHandle handle)
    {
        var r = new FlockRecord { Type = FUnLck, Whence = 0, Start = 0, Length = 0 };
        FcntlLock((int)handle.DangerousGetHandle(), FSetLk, ref r);
    }

    /// <summary>fsync(2) of an open file. 0, or errno.</summary>
    public static int FsyncFile(SafeFileHandle handle) =>
        Fsync((int)handle.DangerousGetHandle()) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>fsync(2) of a directory, so a new entry (Maildir link) survives a crash. 0, or errno.</summary>
    public static int FsyncDirectory(string path)
    {
        int fd = Open(path, OCloexec | ODirectory, 0);
        if (fd < 0) return Marshal.GetLastPInvokeError();
        int rc = Fsync(fd) == 0 ? 0 : Marshal.GetLastPInvokeError();
        Close(fd);
        return rc;
    }

    /// <summary>fchown(2). 0, or errno.</summary>
    public static int Chown(SafeFileHandle handle, int uid, int gid) =>
        Fchown((int)handle.DangerousGetHandle(), uid, gid) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>link(2): fails with EEXIST instead of replacing (the Maildir rule). 0, or errno.</summary>
    public static int HardLink(string oldPath, string newPath) =>
        Link(oldPath, newPath) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>unlink(2). 0, or errno.</summary>
    public static int Remove(string path) => Unlink(path) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>
    /// Sets this thread's filesystem uid/gid (Linux setfsuid/setfsgid are per thread) and
    /// returns the previous pair. Only meaningful for root; the caller restores it.
    /// </summary>
    public static (uint Uid, uint Gid) SetFilesystemIdentity(uint uid, uint gid)
    {
        uint oldGid = (uint)SetFsGid(gid);
        uint oldUid = (uint)SetFsUid(uid);
        return (oldUid, oldGid);
    }

    /// <summary>The thread's current filesystem uid/gid (setfs*id(-1) only reads them).</summary>
    public static (uint Uid, uint Gid) FilesystemIdentity => ((uint)SetFsUid(uint.MaxValue), (uint)SetFsGid(uint.MaxValue));

    /// <summary>errno from a .NET I/O exception (Unix: IOException.HResult carries it).</summary>
    public static int ErrnoOf(Exception e) => e switch
    {
        UnauthorizedAccessException => EACCES,
        FileNotFoundException or DirectoryNotFoundException => ENOENT,
        IOException io when io.HResult is > 0 and < 4096 => io.HResult,
        _ => 0,
    };

    /// <summary>strerror text for an I/O exception, falling back to its message.</summary>
    public static string ErrorTextOf(Exception e) => ErrnoOf(e) is > 0 and var n ? ErrorText(n) : e.Message;
}
