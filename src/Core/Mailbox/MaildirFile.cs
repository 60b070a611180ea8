// Delivers one message into a qmail-style Maildir (Postfix local/maildir.c,
// virtual/maildir.c; the Maildir rules at cr.yp.to/proto/maildir.html):
// tmp/, new/ and cur/ are created mode 0700 as needed; the message is written
// to tmp/<unique>, fsynced, hard-linked to new/<unique>,S=<size>,W=<vsize>
// (link fails instead of replacing an existing name), tmp/ is unlinked and
// new/ fsynced, so a reader sees a whole message or nothing, and a crash never
// loses one we reported delivered. Unique names are "<sec>.M<usec>P<pid>Q<n>.<host>"
// (Dovecot's form); S= is the file size, W= the size with CRLF line ends.
// The directory path is trusted; the content is untrusted and only copied.
using Postfix.Core.Util;

namespace Postfix.Core.Mailbox;

public static class MaildirFile
{
    private const int DirMode = 0b111_000_000, FileCreateMode = 0b110_000_000;
    private static long _counter;

    /// <summary>Delivers into <paramref name="maildir"/> (with or without trailing '/').
    /// <paramref name="sizeLimit"/> bounds the file (0 = none).</summary>
    public static MailboxResult Deliver(string maildir, ReadOnlySpan<byte> content, MailCopyFlags flags,
        in MailCopyEnvelope envelope, DeliveryRights rights, long sizeLimit, string hostname)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("Maildir delivery needs a POSIX file system");
        string dir = maildir.TrimEnd('/');
        using var id = FilesystemIdentity.Assume(rights);
        string tmpDir = Path.Combine(dir, "tmp"), newDir = Path.Combine(dir, "new");
        try
        {
            foreach (var sub in new[] { tmpDir, newDir, Path.Combine(dir, "cur") })
                if (!Directory.Exists(sub)) Directory.CreateDirectory(sub, (UnixFileMode)DirMode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return MailboxResult.FromException(e, $"create maildir file {dir}");
        }

        var now = DateTimeOffset.UtcNow;
        long sec = now.ToUnixTimeSeconds();
        long usec = now.Ticks / 10 % 1_000_000;
        string unique = $"{sec}.M{usec}P{Environment.ProcessId}Q{Interlocked.Increment(ref _counter)}.{SafeHostname(hostname)}";
        string tmpPath = Path.Combine(tmpDir, unique);

        int err = UnixFile.OpenForWrite(tmpPath, exclusive: true, FileCreateMode, out var handle);
        if (err != 0) return MailboxResult.FromErrno(err, $"create maildir file {tmpPath}");
        long size;
        try
        {
            using (handle)
            {
                var stream = new FileAppendStream(handle!, 0);
                size = MailCopy.Write(stream, content, flags, envelope, sizeLimit > 0 ? sizeLimit : long.MaxValue);
                stream.Flush();
                err = UnixFile.FsyncFile(handle!);
                if (err != 0) throw new IOException(UnixFile.ErrorText(err), err);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            UnixFile.Remove(tmpPath);
            return MailboxResult.FromException(e, $"create maildir file {tmpPath}");
        }

        long lines = MailCopy.Measure(content, flags, envelope).Lines;
        string newPath = Path.Combine(newDir, $"{unique},S={size},W={size + lines}");
        err = UnixFile.HardLink(tmpPath, newPath);
        UnixFile.Remove(tmpPath);
        if (err != 0) return MailboxResult.FromErrno(err, $"link to {newPath}");
        err = UnixFile.FsyncDirectory(newDir);
        if (err != 0) return MailboxResult.FromErrno(err, $"fsync {newDir}");
        return MailboxResult.Ok;
    }

    // The Maildir rule: '/' and ':' in the host name are written as \057 and \072.
    private static string SafeHostname(string host) => host.Replace("/", "\\057").Replace(":", "\\072");
}
