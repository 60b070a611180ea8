// The local(8)/virtual(8) parameters we added have Postfix 3.7's built-in
// defaults (postconf -d of the installed Postfix), except local_passwd_file,
// which is ours; and the master.cf services exist as in stock Postfix.
using Postfix.Core.Config;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.LocalDelivery;

public sealed class LocalParameterDefaultsTests
{
    private static readonly string[] Names =
    [
        "allow_mail_to_commands", "allow_mail_to_files", "command_execution_directory", "command_expansion_filter",
        "command_time_limit", "default_privs", "deliver_lock_attempts", "deliver_lock_delay", "duplicate_filter_limit",
        "export_environment", "forward_expansion_filter", "forward_path", "home_mailbox", "local_recipient_maps",
        "luser_relay", "mail_spool_directory", "mailbox_command", "mailbox_delivery_lock", "mailbox_size_limit",
        "prepend_delivered_header", "stale_lock_time", "strict_mailbox_ownership", "virtual_gid_maps",
        "virtual_mailbox_base", "virtual_mailbox_domains", "virtual_mailbox_limit", "virtual_mailbox_lock",
        "virtual_mailbox_maps", "virtual_minimum_uid", "virtual_transport", "virtual_uid_maps",
    ];

    [Fact]
    public async Task LocalAndVirtualDefaultsArePostfix37s()
    {
        const string postconf = "/usr/sbin/postconf";
        Assert.True(File.Exists(postconf), "the postfix package is installed by scripts/install-test-deps.sh");
        var dir = Directory.CreateTempSubdirectory("pcd").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "main.cf"), "");
            var r = await Repo.RunAsync(postconf, new[] { "-c", dir, "-d" }.Concat(Names));
            Assert.Equal(0, r.ExitCode);
            var real = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l.Split(" =")[0], l => l);
            var ours = ParameterDefaults.For(null);
            foreach (var name in Names)
                Assert.Equal(real[name], $"{name} = {ours[name]}".TrimEnd());
            Assert.Equal("/etc/passwd", ours["local_passwd_file"]);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void StockMasterCfRunsLocalAndVirtual()
    {
        var master = MasterCf.Load(null);
        Assert.Equal("local", master.Find("local", MasterServiceType.Unix)!.Command);
        Assert.Equal("virtual", master.Find("virtual", MasterServiceType.Unix)!.Command);
    }

    [Fact]
    public void MailboxLimitSmallerThanMessageLimitIsAConfigError()
    {
        var main = MainCf.Parse("mailbox_size_limit = 1000\nmessage_size_limit = 2000\n", "main.cf");
        var e = Assert.Throws<ConfigException>(() => Core.Local.LocalSettings.From(main, MailSettings.From(main)));
        Assert.Contains("mailbox_size_limit", e.Message);
    }
}
