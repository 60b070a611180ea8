// postconf's view of parameters against the real Postfix 3.7 postconf(1) from
// the Debian package: every default we implement equals Postfix's unless it is
// one of the deliberate, documented differences below (each says why). Also
// raw versus -x expanded output, as Postfix prints them.
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Host;

public class PostconfDefaultsTests
{
    /// <summary>Our documented differences from Postfix's built-in defaults (see ParameterDefaults.cs).</summary>
    private static readonly Dictionary<string, string> Deliberate = new()
    {
        ["alias_maps"] = "no NIS and no /etc/aliases from a system Postfix",
        ["alias_database"] = "no /etc/aliases from a system Postfix",
        ["smtpd_reject_unlisted_recipient"] = "explicit reject_unlisted_recipient until the sandbox has users",
        ["compatibility_level"] = "we start at 3.6 semantics, not the built-in 0",
        ["config_directory"] = "the embedded configuration, never /etc/postfix",
        ["queue_directory"] = "./var, never /var/spool/postfix",
        ["meta_directory"] = "follows config_directory",
        ["daemon_directory"] = "build-time path",
        ["mail_version"] = "our version string",
        ["inet_interfaces"] = "loopback until the operator says otherwise",
        ["mynetworks"] = "loopback only, not derived from interfaces",
        ["disable_vrfy_command"] = "no address harvesting by default",
        ["fast_flush_domains"] = "no fast flush service",
        ["smtpd_forbid_bare_newline"] = "SMTP smuggling defence on by default",
        ["smtpd_forbid_bare_newline_exclusions"] = "and for $mynetworks too",
        ["relay_domains"] = "the compatibility_level expression, evaluated for our level",
        ["append_dot_mydomain"] = "the compatibility_level expression, evaluated for our level",
        ["smtpd_relay_restrictions"] = "the compatibility_level expression, evaluated for our level",
        ["smtpd_hard_error_limit"] = "no stress mode: the non-stress value",
        ["smtpd_junk_command_limit"] = "no stress mode: the non-stress value",
        ["smtpd_timeout"] = "no stress mode: the non-stress value",
        ["syslog_name"] = "no multi-instance: the single-instance value",
        ["smtpd_client_event_limit_exceptions"] = "smtpd_client_connection_limit_exceptions is not implemented",
        ["virtual_alias_maps"] = "the obsolete $virtual_maps is not implemented",
        ["smtpd_tls_protocols"] = "TLS 1.2 is our floor: the default says so",
        ["smtpd_tls_mandatory_protocols"] = "TLS 1.2 is our floor: the default says so",
        ["smtp_tls_protocols"] = "TLS 1.2 is our floor: the default says so",
        ["smtp_tls_mandatory_protocols"] = "TLS 1.2 is our floor: the default says so",
        ["smtpd_tls_received_header"] = "RFC 8314 4.3: record TLS in Received:",
        ["smtpd_starttls_timeout"] = "no stress mode: the non-stress value",
        ["smtp_tls_servername"] = "send SNI with the server's hostname",
    };

    [Fact]
    public async Task DefaultsMatchPostfix37ExceptDocumentedDifferences()
    {
        var postconf = "/usr/sbin/postconf";
        Assert.True(File.Exists(postconf), "the postfix package is installed by scripts/install-test-deps.sh");
        var dir = Directory.CreateTempSubdirectory("pcd").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "main.cf"), "");
            File.WriteAllText(Path.Combine(dir, "master.cf"), "");
            var ours = await Repo.PostfixAsync("postconf", "-d");
            Assert.Equal(0, ours.ExitCode);
            var rows = ours.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
            Assert.True(rows.Count > 80, ours.Stdout);
            var names = rows.Select(r => r.Split(" =")[0]).ToArray();
            var theirs = await Repo.RunAsync(postconf, new[] { "-c", dir, "-d" }.Concat(names));
            var real = theirs.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(r => r.Split(" =")[0]);
            var mismatches = new List<string>();
            int compared = 0;
            foreach (var row in rows)
            {
                var name = row.Split(" =")[0];
                if (!real.TryGetValue(name, out var pf)) continue; // our extension (postconf warns: unknown parameter)
                compared++;
                if (pf != row && !Deliberate.ContainsKey(name)) mismatches.Add($"ours: {row}\n  postfix: {pf}");
            }
            Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
            Assert.True(compared > 70, $"only {compared} parameters compared");
            // A deliberate difference that no longer differs should leave the list.
            foreach (var name in Deliberate.Keys)
                Assert.True(real.TryGetValue(name, out var pf) && pf != rows.First(r => r.Split(" =")[0] == name), $"{name} matches Postfix now: drop it from Deliberate");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task ValuesAreRawUnlessExpandedWithX()
    {
        await using var mta = MtaInstance.Prepare("mydestination = $myhostname, localhost");
        var raw = await mta.PostfixAsync("postconf", "mydestination");
        Assert.Equal("mydestination = $myhostname, localhost", raw.Stdout.Trim());
        var x = await mta.PostfixAsync("postconf", "-x", "mydestination");
        Assert.Equal("mydestination = mx.test.example, localhost", x.Stdout.Trim());
        var nx = await mta.PostfixAsync("postconf", "-nx", "mydestination");
        Assert.Equal("mydestination = mx.test.example, localhost", nx.Stdout.Trim());
        var dx = await mta.PostfixAsync("postconf", "-dx", "smtpd_banner");
        Assert.Matches(@"^smtpd_banner = \S+ ESMTP Postfix$", dx.Stdout.Trim());
    }
}
