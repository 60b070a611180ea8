// What callers do with a table that cannot answer (a redis: table whose store is not there: a
// real client against a loopback port nobody listens on): smtpd's restrictions answer Postfix's
// "451 4.3.0 <name>: Temporary lookup failure" and log why; cleanup's virtual alias expansion
// refuses the message (QueueWriteException: every source answers its temporary failure) without
// queueing it, never passing the address on unexpanded.
using System.Net;
using System.Text;
using Postfix.Cluster;
using Postfix.Core.Cleanup;
using Postfix.Core.Logging;
using Postfix.Core.Queue;
using Postfix.Core.Tables;
using Postfix.Protocols.Smtpd;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Cluster;

public sealed class RedisTableCallerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("redis-caller-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private RedisTable DeadStoreTable(string cf = "key_format = %s\n")
    {
        var path = Path.Combine(_dir, "dead.cf");
        File.WriteAllText(path, cf);
        return RedisTable.Open(path, null, TableOptions.Default,
            () => new RedisTableDefaults([$"127.0.0.1:{MtaInstance.FreePort()}"], TimeSpan.FromMilliseconds(300)));
    }

    private static SmtpdCheckContext Context(List<string> warnings) => new()
    {
        Client = IPAddress.Loopback,
        ClientLabel = "localhost[127.0.0.1]",
        InMyNetworks = false,
        IsAuthDestination = _ => true,
        Sender = "sender@example.org",
        Recipient = "rcpt@example.com",
        Warn = warnings.Add,
    };

    [Fact]
    public void RecipientAccessCheckDefersWithTemporaryLookupFailure()
    {
        var table = DeadStoreTable();
        var warnings = new List<string>();
        var reply = SmtpdCheck.Evaluate(Context(warnings), [new Restriction(RestrictionKind.CheckRecipientAccess, table)]);
        Assert.Equal("451 4.3.0 <rcpt@example.com>: Temporary lookup failure", reply);
        Assert.Contains(warnings, w => w.StartsWith(table.Name + ": store 127.0.0.1:", StringComparison.Ordinal));
        Assert.DoesNotContain(warnings, w => w.Contains("rcpt@"));
    }

    [Fact]
    public void ClientAccessCheckNamesTheClient()
    {
        var reply = SmtpdCheck.Evaluate(Context([]), [new Restriction(RestrictionKind.PermitMyNetworks), new Restriction(RestrictionKind.CheckClientAccess, DeadStoreTable())]);
        Assert.Equal("451 4.3.0 <localhost[127.0.0.1]>: Temporary lookup failure", reply);
    }

    [Fact]
    public void UnlistedRecipientCheckThatCannotLookUpDefers()
    {
        var table = DeadStoreTable();
        var ctx = new SmtpdCheckContext
        {
            Client = IPAddress.Loopback,
            ClientLabel = "localhost[127.0.0.1]",
            InMyNetworks = true,
            IsAuthDestination = _ => true,
            Recipient = "team@alias.test",
            UnlistedRecipient = a => table.Lookup(a) is null ? "User unknown in virtual alias table" : null,
        };
        Assert.Equal("451 4.3.0 <team@alias.test>: Temporary lookup failure",
            SmtpdCheck.Evaluate(ctx, [new Restriction(RestrictionKind.RejectUnlistedRecipient)]));
    }

    [Fact]
    public async Task CleanupRefusesTheMessageAndQueuesNothing()
    {
        var queue = new CountingQueue();
        var cleanup = new CleanupService(queue, Maillog.Null, "smtpd")
        {
            Maps = new CleanupMaps(new CleanupMapsSettings { VirtualAliasMaps = new LookupTableList([DeadStoreTable()]) }),
        };
        using var m = new MessageBuilder(1 << 20);
        m.QueueId = queue.NewQueueId();
        m.SetSender("sender@example.org"u8);
        m.AddRecipient("team@alias.test"u8, default, DsnNotify.None);
        m.Content.Write("Subject: x\r\n\r\nbody\r\n"u8);
        var e = await Assert.ThrowsAsync<QueueWriteException>(async () => await cleanup.CommitAsync(m, 1, false, 0, "mx.example"));
        Assert.StartsWith("virtual_alias_maps map lookup problem -- message not accepted, try again later (redis:", e.Message);
        Assert.Equal(0, queue.Commits);
        Assert.Equal("team@alias.test", Encoding.UTF8.GetString(m.RecipientBlock[2..(2 + "team@alias.test".Length)]));
    }

    private sealed class CountingQueue : IQueueWriter
    {
        public int Commits;
        public QueueId NewQueueId() => new(1);
        public ValueTask CommitAsync(MessageBuilder message, CancellationToken cancellationToken) { Commits++; return ValueTask.CompletedTask; }
        public int MaxRecordSize => 1 << 24;
    }
}
