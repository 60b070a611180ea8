// Appends one message to a UNIX-style mailbox file (Postfix global/mbox_open.c,
// dot_lockfile.c, deliver_flock.c and the mailbox half of mail_copy.c): lock
// (dot-lock, then flock/fcntl, with deliver_lock_attempts tries), open without
// following a symlink, refuse anything but a single-link regular file, write
// the From_ form with ">From " quoting, fsync, and on any error truncate the
// file back to its old length so no partial message is ever left behind.
// Deliveries inside this process to the same path are serialised first:
// fcntl locks do not exclude threads of one process. Paths are trusted
// (config, passwd); the message content is untrusted and only copied.
using Microsoft.Win32.SafeHandles;
using Postfix.Core.Util;

namespace Postfix.Core.Mailbox;

public static class MboxFile
{
    private const int EPERM = 1, EROFS = 30;
    private static readonly SemaphoreSlim[] Gates = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    public static async ValueTask<MailboxResult> AppendAsync(string path, ReadOnlyMemory<byte> content, MailCopyFlags flags,
        MailCopyEnvelope envelope, MboxOptions options, CancellationToken cancellationToken = default)
    {
        var gate = Gates[(path.GetHashCode() & int.MaxValue) % Gates.Length];
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        string? dotlock = null;
        SafeFileHandle? handle = null;
        try
        {
            if ((options.Lock.Kinds & MboxLockKinds.Dotlock) != 0)
            {
                var (locked, lockPath, failure) = await DotlockAsync(path, options, cancellationToken).ConfigureAwait(false);
                if (!locked) return failure;
                dotlock = lockPath;
            }
            var opened = Open(path, options, out handle);
            if (!opened.Delivered) return opened;
            var kernel = await KernelLockAsync(handle!, options, cancellationToken).ConfigureAwait(false);
            if (!kernel.Delivered) return kernel;
            return Write(handle!, content.Span, flags, envelope, options.SizeLimit);
        }
        finally
        {
            handle?.Dispose(); // closing releases flock and fcntl locks
            if (dotlock is not null) RemoveDotlock(dotlock, options.Rights);
            gate.Release();
        }
    }

    private static MailboxResult Open(string path, MboxOptions o, out SafeFileHandle? handle)
    {
        using var id = FilesystemIdentity.Assume(o.Rights);
        bool existed = UnixFile.LStat(path, out _) == 0;
        int err = UnixFile.OpenForWrite(path, exclusive: false, mode: 0b110_000_000, out handle);
        if (err != 0) return MailboxResult.FromErrno(err, "cannot open file");
        err = UnixFile.Stat(handle!, out var st);
        if (err != 0) return MailboxResult.FromErrno(err, "cannot stat file");
        if (!st.IsRegular) return MailboxResult.Bounce("5.2.0", $"destination {path} is not a regular file");
        if (st.Links > 1) return MailboxResult.Defer("4.2.0", $"cannot open file: file {path} has {st.Links} hard links");
        bool chowned = false;
        if (!existed && o.ChownNew is { Switches: true } owner)
        {
            err = UnixFile.Chown(handle!, owner.Uid, owner.Gid);
            if (err != 0) return MailboxResult.FromErrno(err, $"cannot change ownership of {path}");
            chowned = true;
        }
        if (!chowned && UnixFile.IsRoot && o.RequiredOwner is { } uid && st.Uid != uid)
            return MailboxResult.Defer("4.2.0", $"destination {path} is not owned by recipient");
        return MailboxResult.Ok;
    }

    private static async ValueTask<MailboxResult> KernelLockAsync(SafeFileHandle handle, MboxOptions o, CancellationToken ct)
    {
        var kinds = o.Lock.Kinds;
        bool flockHeld = false, fcntlHeld = false;
        for (int attempt = 1; ; attempt++)
        {
            int err = 0;
            if ((kinds & MboxLockKinds.Flock) != 0 && !flockHeld)
            {
                err = UnixFile.TryFlock(handle);
                flockHeld = err == 0;
            }
            if (err == 0 && (kinds & MboxLockKinds.Fcntl) != 0 && !fcntlHeld)
            {
                err = UnixFile.TryFcntlLock(handle);
                fcntlHeld = err == 0;
            }
            if (err == 0) return MailboxResult.Ok;
            if (err is not (UnixFile.EAGAIN or UnixFile.EACCES) || attempt >= Math.Max(1, o.Lock.Attempts))
                return MailboxResult.Defer("4.2.0", $"unable to lock for exclusive access: {UnixFile.ErrorText(err)}");
            await Task.Delay(o.Lock.Delay, ct).ConfigureAwait(false);
        }
    }

    private static async ValueTask<(bool Locked, string Path, MailboxResult Failure)> DotlockAsync(string path, MboxOptions o, CancellationToken ct)
    {
        string lockPath = path + ".lock";
        for (int attempt = 1; ; attempt++)
        {
            int err = TryCreateDotlock(lockPath, o);
            if (err == 0) return (true, lockPath, MailboxResult.Ok);
            if (err != UnixFile.EEXIST)
            {
                // /file deliveries: a directory the recipient may not write is not a reason to fail.
                if (o.DotlockMayFail && err is UnixFile.EACCES or EPERM or EROFS) return (true, "", MailboxResult.Ok);
                return (false, "", MailboxResult.FromErrno(err, $"unable to create lock file {lockPath}"));
            }
            if (attempt >= Math.Max(1, o.Lock.Attempts))
                return (false, "", MailboxResult.Defer("4.2.0", $"unable to create lock file {lockPath}: {UnixFile.ErrorText(UnixFile.EEXIST)}"));
            await Task.Delay(o.Lock.Delay, ct).ConfigureAwait(false);
        }
    }

    private static int TryCreateDotlock(string lockPath, MboxOptions o)
    {
        using var id = FilesystemIdentity.Assume(o.Rights);
        int err = UnixFile.OpenForWrite(lockPath, exclusive: true, mode: 0, out var h);
        h?.Dispose();
        if (err == UnixFile.EEXIST)
        {
            // A lock left behind by a crashed writer is removed after stale_lock_time.
            try
            {
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(lockPath) > o.Lock.StaleTime && UnixFile.Remove(lockPath) == 0)
                {
                    err = UnixFile.OpenForWrite(lockPath, exclusive: true, mode: 0, out h);
                    h?.Dispose();
                }
            }
            catch (IOException) { }
        }
        return err;
    }

    private static void RemoveDotlock(string lockPath, DeliveryRights rights)
    {
        if (lockPath.Length == 0) return;
        using var id = FilesystemIdentity.Assume(rights);
        UnixFile.Remove(lockPath);
    }

    private static MailboxResult Write(SafeFileHandle handle, ReadOnlySpan<byte> content, MailCopyFlags flags,
        in MailCopyEnvelope envelope, long sizeLimit)
    {
        long start;
        try { start = RandomAccess.GetLength(handle); }
        catch (IOException e) { return MailboxResult.FromException(e, "cannot seek file"); }
        try
        {
            var stream = new FileAppendStream(handle, start);
            MailCopy.Write(stream, content, flags, envelope, sizeLimit > 0 ? sizeLimit - start : long.MaxValue);
            stream.Flush();
            int err = UnixFile.FsyncFile(handle);
            if (err != 0) throw new IOException(UnixFile.ErrorText(err), err);
            return MailboxResult.Ok;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { RandomAccess.SetLength(handle, start); UnixFile.FsyncFile(handle); }
            catch (IOException) { }
            return MailboxResult.FromException(e, "error writing message");
        }
    }
}
