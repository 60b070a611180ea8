// The maildrop file: what sendmail(1) leaves in $queue_directory/maildrop for
// pickup(8) (Postfix: postdrop writes a queue file there). Ours is a small,
// line-oriented envelope followed by the raw content:
//
//   PFMD1\n
//   T <arrival unix ms>\n      U <uid>\n      F <sender>\n
//   E <envid>\n  (optional)   X F|H\n (RET)   B 7|8\n (BODY)
//   R <notify bits> <recipient>\n ...   (one per recipient)
//   M\n
//   <message content, CRLF line ends, to end of file>
//
// Writers publish atomically: the file is written under a dot-name, fsynced,
// renamed into place and the directory fsynced, so pickup never sees half a
// file and an acknowledged sendmail survives a crash. Pickup treats the file
// as untrusted: every field is bounded and validated; a malformed file is
// reported and set aside, never half-queued.
using System.Globalization;
using System.Text;
using Postfix.Core.Queue;

namespace Postfix.Core.Pickup;

public sealed class MaildropEnvelope
{
    public long ArrivalUnixMs { get; set; }
    public int Uid { get; set; } = -1;
    public string Sender { get; set; } = "";
    public string EnvId { get; set; } = "";
    public DsnRet Ret { get; set; }
    public BodyType Body { get; set; }
    public List<(string Address, DsnNotify Notify)> Recipients { get; } = [];
}

public sealed class MaildropFormatException(string message) : Exception(message);

public static class MaildropFile
{
    private static readonly byte[] Magic = "PFMD1\n"u8.ToArray();
    public const int MaxAddressLength = 2048;
    public const int MaxRecipients = 100_000;

    /// <summary>Serialises the envelope header (everything before the content).</summary>
    public static byte[] WriteEnvelope(MaildropEnvelope e)
    {
        var sb = new StringBuilder();
        sb.Append("PFMD1\n");
        sb.Append("T ").Append(e.ArrivalUnixMs.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("U ").Append(e.Uid.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("F ").Append(Checked(e.Sender)).Append('\n');
        if (e.EnvId.Length > 0) sb.Append("E ").Append(Checked(e.EnvId)).Append('\n');
        if (e.Ret != DsnRet.None) sb.Append("X ").Append(e.Ret == DsnRet.Full ? 'F' : 'H').Append('\n');
        if (e.Body != BodyType.None) sb.Append("B ").Append(e.Body == BodyType.EightBitMime ? '8' : '7').Append('\n');
        foreach (var (a, n) in e.Recipients)
            sb.Append("R ").Append(((int)n).ToString(CultureInfo.InvariantCulture)).Append(' ').Append(Checked(a)).Append('\n');
        sb.Append("M\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static string Checked(string s)
    {
        if (s.Length > MaxAddressLength || s.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
            throw new MaildropFormatException($"invalid address or parameter: \"{s.ReplaceLineEndings(" ")}\"");
        return s;
    }

    /// <summary>
    /// Publishes a maildrop file: temp name, fsync, rename, directory fsync.
    /// Returns the final path. <paramref name="writeContent"/> streams the content.
    /// </summary>
    public static string Publish(string maildropDir, MaildropEnvelope e, Action<Stream> writeContent)
    {
        Directory.CreateDirectory(maildropDir);
        var name = $"{e.ArrivalUnixMs:X}.{Environment.ProcessId:X}.{Random.Shared.Next():X8}";
        var tmp = Path.Combine(maildropDir, "." + name);
        var final = Path.Combine(maildropDir, name);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                fs.Write(WriteEnvelope(e));
                writeContent(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, final);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
        FsyncDirectory(maildropDir);
        return final;
    }

    /// <summary>Makes a rename durable (POSIX: fsync the directory).</summary>
    public static void FsyncDirectory(string dir)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        try
        {
            using var h = File.OpenHandle(dir, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.None);
            RandomAccess.FlushToDisk(h);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Parses a maildrop file; returns the content offset. Throws <see cref="MaildropFormatException"/>.</summary>
    public static int Parse(ReadOnlySpan<byte> file, MaildropEnvelope e)
    {
        if (!file.StartsWith(Magic)) throw new MaildropFormatException("not a maildrop file (bad magic)");
        int pos = Magic.Length;
        bool sawSender = false;
        while (true)
        {
            int nl = file[pos..].IndexOf((byte)'\n');
            if (nl < 0) throw new MaildropFormatException("truncated envelope");
            var line = file.Slice(pos, nl);
            pos += nl + 1;
            if (line.Length == 1 && line[0] == (byte)'M') break;
            if (line.Length < 2 || line[1] != (byte)' ') throw new MaildropFormatException("malformed envelope record");
            var value = line[2..];
            if (value.Length > MaxAddressLength) throw new MaildropFormatException("envelope record too long");
            if (value.IndexOfAny((byte)'\r', (byte)'\0') >= 0) throw new MaildropFormatException("control character in envelope record");
            switch ((char)line[0])
            {
                case 'T': e.ArrivalUnixMs = ParseLong(value); break;
                case 'U': e.Uid = (int)ParseLong(value); break;
                case 'F': e.Sender = Utf8(value); sawSender = true; break;
                case 'E': e.EnvId = Utf8(value); break;
                case 'X': e.Ret = value.SequenceEqual("F"u8) ? DsnRet.Full : value.SequenceEqual("H"u8) ? DsnRet.Hdrs : throw new MaildropFormatException("bad RET"); break;
                case 'B': e.Body = value.SequenceEqual("8"u8) ? BodyType.EightBitMime : value.SequenceEqual("7"u8) ? BodyType.SevenBit : throw new MaildropFormatException("bad BODY"); break;
                case 'R':
                    int sp = value.IndexOf((byte)' ');
                    if (sp <= 0) throw new MaildropFormatException("malformed recipient record");
                    long notify = ParseLong(value[..sp]);
                    if (notify is < 0 or > 15) throw new MaildropFormatException("bad NOTIFY");
                    var addr = value[(sp + 1)..];
                    if (addr.IsEmpty) throw new MaildropFormatException("empty recipient");
                    if (e.Recipients.Count >= MaxRecipients) throw new MaildropFormatException("too many recipients");
                    e.Recipients.Add((Utf8(addr), (DsnNotify)notify));
                    break;
                default: throw new MaildropFormatException($"unknown envelope record '{(char)line[0]}'");
            }
        }
        if (!sawSender) throw new MaildropFormatException("no sender record");
        if (e.Recipients.Count == 0) throw new MaildropFormatException("no recipients");
        return pos;
    }

    private static long ParseLong(ReadOnlySpan<byte> s)
    {
        if (!long.TryParse(Encoding.ASCII.GetString(s), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            throw new MaildropFormatException("bad number in envelope");
        return v;
    }

    private static string Utf8(ReadOnlySpan<byte> s)
    {
        try { return new UTF8Encoding(false, true).GetString(s); }
        catch (DecoderFallbackException) { throw new MaildropFormatException("invalid UTF-8 in envelope"); }
    }
}
