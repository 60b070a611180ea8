// sendmail(1), Postfix's compatibility interface: reads a message on standard
// input and drops it into $queue_directory/maildrop, where pickup(8) queues it
// through cleanup like SMTP mail. It works with the mail system stopped (the
// file waits for pickup), and returns only after the file is durably on disk.
// Flags as Postfix's sendmail: -t (recipients from To/Cc/Bcc, Bcc removed),
// -f/-r sender, -F name, -i / -oi (a lone "." does not end input), -N dsn,
// -R ret, -V envid, -B body, -C dir, -bm (default), -bs (SMTP on standard
// input/output, SendmailSmtp.cs), -bp (mailq), -bv (show
// how each recipient resolves instead of sending; Postfix mails a report),
// -q (flush the queue); other -o options and -v, -m, -n, -U, -x are accepted
// and ignored as Postfix does. Exit codes are sysexits(3) values, which
// cron, PHP's mail() and friends check: 64 usage, 65 data error, 75 temporary.
// Standard input is untrusted: bounded by message_size_limit, any bytes.
using System.Runtime.InteropServices;
using System.Text;
using Postfix.Core.Bounce;
using Postfix.Core.Cleanup;
using Postfix.Core.Config;
using Postfix.Core.Pickup;
using Postfix.Core.Queue;
using Postfix.Host.Master;

namespace Postfix.Host.Commands;

public static partial class SendmailCommand
{
    public const int ExUsage = 64, ExDataErr = 65, ExSoftware = 70, ExTempFail = 75, ExConfig = 78;

    [LibraryImport("libc", EntryPoint = "getuid")]
    private static partial uint GetUid();

    private static int CurrentUid() => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? (int)GetUid() : -1;

    private sealed class Options
    {
        public bool ExtractRecipients, IgnoreDots;
        public string? Sender, EnvId;
        public string Mode = "m";
        public DsnNotify Notify;
        public DsnRet Ret;
        public BodyType Body;
        public bool Flush;
        public List<string> Recipients = [];
    }

    public static async Task<int> RunAsync(string[] args, string? configDir, Stream stdin, TextWriter stdout, TextWriter stderr)
    {
        Options o;
        try { o = ParseArgs(args, ref configDir); }
        catch (UsageException e)
        {
            stderr.WriteLine($"sendmail: fatal: usage: {e.Message}");
            return ExUsage;
        }
        if (configDir is not null && !Directory.Exists(configDir))
        {
            stderr.WriteLine($"sendmail: fatal: config directory {configDir}: No such file or directory");
            return ExConfig;
        }
        switch (o.Mode)
        {
            case "p": return await PostqueueCommand.RunAsync(["-p"], configDir, stdout, stderr);
            case "v": return Verify(o, configDir, stdout, stderr);
            case "s":
                if (QueueAccess.LoadSettings("sendmail", configDir, stderr) is not { } bs) return ExConfig;
                return await SendmailSmtp.RunAsync(bs, CurrentUid(), stdin, Console.OpenStandardOutput());
            case "m": break;
            default:
                stderr.WriteLine($"sendmail: fatal: unsupported mode -b{o.Mode}");
                return ExUsage;
        }
        if (o.Flush) return await PostqueueCommand.RunAsync(["-f"], configDir, stdout, stderr);
        if (QueueAccess.LoadSettings("sendmail", configDir, stderr) is not { } settings) return ExConfig;

        var content = new MemoryStream();
        long limit = settings.MessageSizeLimit <= 0 ? int.MaxValue - 1024 * 1024 : settings.MessageSizeLimit;
        string user = Environment.UserName;
        int uid = CurrentUid();
        if (!await ReadMessageAsync(stdin, content, o.IgnoreDots, limit))
        {
            stderr.WriteLine($"sendmail: fatal: {user}({uid}): message file too big");
            return ExDataErr;
        }
        var buffer = content.GetBuffer();
        int length = (int)content.Length;

        var env = new MaildropEnvelope
        {
            ArrivalUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Uid = uid,
            Sender = o.Sender ?? user,
            EnvId = o.EnvId ?? "",
            Ret = o.Ret,
            Body = o.Body,
        };
        var recipients = new List<string>();
        foreach (var r in o.Recipients) recipients.AddRange(AddressList.Parse(r));
        byte[]? rewritten = null;
        if (o.ExtractRecipients)
        {
            HeaderSection.Find(buffer.AsSpan(0, length), out int headerEnd);
            recipients.AddRange(RecipientHeaders.Extract(buffer, headerEnd));
            rewritten = RecipientHeaders.WithoutBcc(buffer, length, headerEnd);
        }
        if (recipients.Count == 0)
        {
            stderr.WriteLine(o.ExtractRecipients
                ? "sendmail: fatal: No recipient addresses found in message header"
                : "sendmail: fatal: Recipient addresses must be specified on the command line or via the -t option");
            return ExUsage;
        }
        foreach (var r in recipients.Distinct(StringComparer.OrdinalIgnoreCase)) env.Recipients.Add((r, o.Notify));

        try
        {
            var data = rewritten ?? content.ToArray();
            MaildropFile.Publish(PickupDaemon.MaildropDirectory(settings.QueueDirectory), env, s => s.Write(data));
        }
        catch (MaildropFormatException e)
        {
            stderr.WriteLine($"sendmail: fatal: {e.Message}");
            return ExDataErr;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"sendmail: fatal: cannot write to the maildrop in {settings.QueueDirectory}: {e.Message}");
            return ExTempFail;
        }
        return 0;
    }

    private static Options ParseArgs(string[] args, ref string? configDir)
    {
        var o = new Options();
        string? dir = configDir;
        // Options with a value: the rest of the word, else the next word (-q's value is optional).
        int i = Getopt.Parse(args, "BCFLNORVXbfhopqre", (c, value) =>
        {
            if (value is not null) { Apply(o, c, value, ref dir); return; }
            switch (c)
            {
                case 't': o.ExtractRecipients = true; break;
                case 'i': o.IgnoreDots = true; break;
                case 'v' or 'm' or 'n' or 'U' or 'x' or 'G' or 'I' or 'c' or '4' or '6': break;
                default: throw new UsageException($"invalid option -- '{c}'");
            }
        }, "", optionalValue: "q");
        configDir = dir;
        o.Recipients.AddRange(args[i..]);
        return o;
    }

    private static void Apply(Options o, char c, string v, ref string? configDir)
    {
        switch (c)
        {
            case 'f' or 'r': o.Sender = v is "<>" or "''" ? "" : v.Trim('<', '>'); break;
            case 'C': configDir = Directory.Exists(v) ? v : Path.GetDirectoryName(v); break; // dir or dir/main.cf
            case 'V': o.EnvId = v; break;
            case 'X' when v.StartsWith('V'): o.EnvId = v[1..]; break; // -XV envid (Postfix's older spelling)
            case 'b': o.Mode = v; break;
            case 'q': o.Flush = true; break;
            case 'o':
                if (v == "i") o.IgnoreDots = true;
                else if (v.StartsWith('B')) o.Body = ParseBody(v[1..]);
                break; // -oem, -odb, -om ... accepted and ignored, as Postfix does
            case 'B': o.Body = ParseBody(v); break;
            case 'R':
                o.Ret = v.ToLowerInvariant() switch
                {
                    "full" => DsnRet.Full,
                    "hdrs" => DsnRet.Hdrs,
                    _ => throw new UsageException($"-R {v}: expected full or hdrs"),
                };
                break;
            case 'N':
                foreach (var w in v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    o.Notify |= w.ToLowerInvariant() switch
                    {
                        "never" => DsnNotify.Never,
                        "success" => DsnNotify.Success,
                        "failure" => DsnNotify.Failure,
                        "delay" => DsnNotify.Delay,
                        _ => throw new UsageException($"-N {v}: expected never or success,failure,delay"),
                    };
                }
                if ((o.Notify & DsnNotify.Never) != 0 && o.Notify != DsnNotify.Never)
                    throw new UsageException("-N never cannot be combined with other values");
                break;
            // -F full name, -L label, -O option, -h hop count, -p protocol, -e: accepted, unused.
        }
    }

    private static BodyType ParseBody(string v) => v.ToUpperInvariant() switch
    {
        "7BIT" => BodyType.SevenBit,
        "8BITMIME" => BodyType.EightBitMime,
        _ => throw new UsageException($"-B {v}: expected 7BIT or 8BITMIME"),
    };

    /// <summary>
    /// Copies standard input to <paramref name="dest"/> with CRLF line ends: a
    /// leading mbox "From " line is dropped, and without -i a lone "." ends
    /// input. False when the message exceeds <paramref name="limit"/>.
    /// </summary>
    public static async Task<bool> ReadMessageAsync(Stream input, Stream dest, bool ignoreDots, long limit)
    {
        var line = new MemoryStream();
        var buf = new byte[64 * 1024];
        bool first = true;
        long total = 0;
        int n;
        bool ended = false;
        while (!ended && (n = await input.ReadAsync(buf)) > 0)
        {
            int start = 0;
            for (int k = 0; k < n; k++)
            {
                if (buf[k] != (byte)'\n') continue;
                line.Write(buf, start, k - start);
                start = k + 1;
                if (!EmitLine(line, dest, ref first, ignoreDots, ref total)) { ended = true; break; }
                if (total > limit) return false;
            }
            if (!ended) line.Write(buf, start, n - start);
            if (line.Length > limit) return false;
        }
        if (!ended && line.Length > 0) EmitLine(line, dest, ref first, ignoreDots, ref total);
        return total <= limit;
    }

    private static bool EmitLine(MemoryStream line, Stream dest, ref bool first, bool ignoreDots, ref long total)
    {
        var span = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (span.Length > 0 && span[^1] == (byte)'\r') span = span[..^1];
        line.SetLength(0);
        bool wasFirst = first;
        first = false;
        if (wasFirst && span.StartsWith("From "u8)) return true;
        if (!ignoreDots && span.Length == 1 && span[0] == (byte)'.') return false;
        dest.Write(span);
        dest.Write("\r\n"u8);
        total += span.Length + 2;
        return true;
    }

    private static int Verify(Options o, string? configDir, TextWriter stdout, TextWriter stderr)
    {
        MasterConfig cfg;
        try { cfg = MasterConfig.Load(configDir); }
        catch (ConfigException e) { stderr.WriteLine($"sendmail: fatal: {e.Message}"); return ExConfig; }
        var recipients = o.Recipients.SelectMany(AddressList.Parse).ToList();
        if (recipients.Count == 0)
        {
            stderr.WriteLine("sendmail: fatal: -bv: no recipient addresses given");
            return ExUsage;
        }
        foreach (var r in recipients)
        {
            var canonical = cfg.CanonicalForm.Rewrite(r);
            var resolved = cfg.Resolver.Resolve(canonical);
            bool deferred = cfg.DeferTransports.Contains(resolved.Transport);
            stdout.WriteLine($"{canonical}: {resolved.Class.ToString().ToLowerInvariant()} address, delivered via {resolved.Destination}{(deferred ? " (deferred: transport in defer_transports)" : "")}");
        }
        return 0;
    }
}
