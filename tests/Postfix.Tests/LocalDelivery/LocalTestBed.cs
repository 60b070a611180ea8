// A throw-away world for local(8) and virtual(8) unit tests: a temp directory
// with a passwd(5) file, home directories, a mail spool, an aliases table
// (texthash format) and a main.cf built from them. When the tests run as
// root the users get their own uids and own their homes, so deliveries are
// really made with the recipient's rights; otherwise every user is the test
// process's own uid. Nothing outside the temp directory is touched.
using System.Diagnostics;
using System.Text;
using Postfix.Core.Cleanup;
using Postfix.Core.Config;
using Postfix.Core.Delivery;
using Postfix.Core.Local;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Core.Rewrite;
using Postfix.Core.Util;

namespace Postfix.Tests.LocalDelivery;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalTestBed : IDisposable
{
    public const string Host = "mx.test";
    private readonly List<string> _passwd = [];
    private int _nextUid = 2001;

    public LocalTestBed()
    {
        Root = Directory.CreateTempSubdirectory("local-test-").FullName;
        File.SetUnixFileMode(Root, (UnixFileMode)0b111_101_101);
        Directory.CreateDirectory(Spool);
        Directory.CreateDirectory(Out);
        File.SetUnixFileMode(Out, (UnixFileMode)0b1_111_111_111); // commands run as nobody write here
        File.WriteAllText(AliasesPath, "");
        _passwd.Add("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin");
        AddUser("alice");
        AddUser("bob");
        AddUser("carol");
    }

    public string Root { get; }
    public string Spool => Path.Combine(Root, "spool");
    public string Out => Path.Combine(Root, "out");
    public string AliasesPath => Path.Combine(Root, "aliases");
    public string PasswdPath => Path.Combine(Root, "passwd");
    public CapturingQueue Queue { get; } = new();
    private readonly StringWriter _logText = new();
    private TextWriter? _syncLog;

    /// <summary>The maillog writer: synchronized, as the Maillog writes from its own thread.</summary>
    public TextWriter LogWriter => _syncLog ??= TextWriter.Synchronized(_logText);

    /// <summary>The maillog so far.</summary>
    public string Log { get { lock (LogWriter) return _logText.ToString(); } }

    public string Home(string user) => Path.Combine(Root, "home", user);

    public PasswdEntry User(string name) => PasswdTable.Parse(_passwd.First(l => l.StartsWith(name + ":")))!;

    /// <summary>Adds a passwd user with a home directory it owns (when root).</summary>
    public PasswdEntry AddUser(string name)
    {
        int uid = UnixFile.IsRoot ? _nextUid++ : UnixFile.EffectiveUid;
        int gid = UnixFile.IsRoot ? uid : UnixFile.EffectiveGid;
        var home = Home(name);
        Directory.CreateDirectory(home);
        Chown(home, uid, gid);
        _passwd.Add($"{name}:x:{uid}:{gid}:{name}:{home}:/bin/sh");
        File.WriteAllLines(PasswdPath, _passwd);
        return User(name);
    }

    public void Aliases(params string[] lines) => File.WriteAllLines(AliasesPath, lines);

    /// <summary>Writes a file in a user's home, owned by the user, mode 0644.</summary>
    public string WriteUserFile(string user, string name, string text)
    {
        var pw = User(user);
        var path = Path.Combine(pw.Home, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
        Chown(path, pw.Uid, pw.Gid);
        return path;
    }

    public static void Chown(string path, int uid, int gid)
    {
        if (!UnixFile.IsRoot) return;
        using var p = Process.Start(new ProcessStartInfo("chown", ["-R", $"{uid}:{gid}", path]) { UseShellExecute = false })!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"chown {uid}:{gid} {path} failed");
    }

    public MainCf MainCf(string extra = "") => Core.Config.MainCf.Parse($"""
        myhostname = {Host}
        mydestination = $myhostname, localhost
        queue_directory = {Root}
        local_passwd_file = {PasswdPath}
        mail_spool_directory = {Spool}
        alias_maps = texthash:{AliasesPath}
        deliver_lock_attempts = 3
        deliver_lock_delay = 1s
        {extra}
        """);

    public LocalDeliveryAgent Local(string extra = "")
    {
        var main = MainCf(extra);
        var s = MailSettings.From(main);
        var resolver = new TrivialRewriteResolver(s.MyDestination, s.RelayDomains, s.Relayhost, s.DefaultTransport,
            main.Get("relay_transport"), main.Get("local_transport"));
        var log = new Maillog(LogWriter, Host, "postfix");
        return new LocalDeliveryAgent(LocalSettings.From(main, s), new CleanupService(Queue, log, "local"), resolver.Resolve, log);
    }

    public static QueuedMessage Message(string sender, string[] recipients, string content) => new(
        new QueueId(0x1234567890A), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), sender, "", DsnRet.None, BodyType.None,
        false, "client.example", "192.0.2.1", "client.example", "ESMTP",
        recipients.Select((r, i) => new QueuedRecipient(i, r, "", DsnNotify.None)).ToList(),
        Encoding.UTF8.GetBytes(content.ReplaceLineEndings("\r\n")));

    public static async Task<DeliveryReport> DeliverAsync(IDeliveryAgent agent, QueuedMessage m, string transport = "local")
    {
        var report = await agent.DeliverAsync(new DeliveryRequest(m, transport, Host, m.Recipients), CancellationToken.None);
        return report;
    }

    /// <summary>Sends one message to <paramref name="recipients"/> through a fresh local agent.</summary>
    public Task<DeliveryReport> SendAsync(string extra, string content, params string[] recipients) =>
        DeliverAsync(Local(extra), Message("sender@example.org", recipients, content));

    public string MailboxText(string user) => File.ReadAllText(Path.Combine(Spool, user));

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
