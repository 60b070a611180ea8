// cleanup(8)'s address maps without a process: canonical(5) and virtual(5)
// key order with extensions, @domain results, recursion and its limits,
// self-reference, bcc maps, always_bcc, and the duplicate filter (each final
// recipient once, however many expansions lead to it).
using Postfix.Core.Cleanup;
using Postfix.Core.Queue;
using Postfix.Core.Tables;
using Xunit;

namespace Postfix.Tests.Cleanup;

public class CleanupMapsTests
{
    /// <summary>An inline: table with the entries (each in braces, so values may hold commas).</summary>
    private static LookupTableList Map(params (string Key, string Value)[] entries) =>
        LookupTables.OpenTables("inline:{ " + string.Join(", ", entries.Select(e => $"{{{e.Key} = {e.Value}}}")) + " }");

    private static CleanupMapsSettings Base => new()
    {
        RecipientDelimiter = "+",
        MyOrigin = "host.example",
        IsLocalDomain = d => d is "host.example" or "localhost",
    };

    private static List<string> Rcpts(CleanupMaps m, params string[] rcpts) =>
        m.Apply("sender@example.org", rcpts.Select(r => new CleanupMaps.Recipient(r, "", DsnNotify.None))).Recipients.Select(r => r.Address).ToList();

    [Fact]
    public void VirtualKeyOrderFullAddressFirstThenWithoutExtensionThenDomain()
    {
        var m = new CleanupMaps(Base with
        {
            VirtualAliasMaps = Map(("bob+list@example.com", "list@x"), ("bob@example.com", "bob@y"), ("@example.com", "catchall@z")),
        });
        Assert.Equal(["list@x"], Rcpts(m, "bob+list@example.com"));
        Assert.Equal(["bob+other@y"], Rcpts(m, "bob+other@example.com")); // unmatched +other propagates
        Assert.Equal(["catchall@z"], Rcpts(m, "carol+x@example.com")); // an @domain match propagates no extension (mail_addr_find)
        Assert.Equal(["catchall@z"], Rcpts(m, "carol@example.com"));
        Assert.Equal(["dave@elsewhere.example"], Rcpts(m, "dave@elsewhere.example"));
    }

    [Fact]
    public void UserOnlyKeysApplyToLocalDomainsOnly()
    {
        var m = new CleanupMaps(Base with { VirtualAliasMaps = Map(("root", "admin@corp.example")) });
        Assert.Equal(["admin@corp.example"], Rcpts(m, "root@host.example"));
        Assert.Equal(["admin@corp.example"], Rcpts(m, "root@localhost"));
        Assert.Equal(["root@remote.example"], Rcpts(m, "root@remote.example"));
    }

    [Fact]
    public void PatternTablesSeeOnlyTheWholeAddress()
    {
        // A regexp matching "bob" must not fire for the derived keys "bob" or "@example.com".
        var dir = Directory.CreateTempSubdirectory("re").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "virtual.re"), "/^bob$/ wrong@x\n/^carol@(.*)$/ carol.smith@$1\n");
            var m = new CleanupMaps(Base with { VirtualAliasMaps = LookupTables.OpenTables($"regexp:{dir}/virtual.re") });
            Assert.Equal(["bob@host.example"], Rcpts(m, "bob@host.example"));
            Assert.Equal(["carol.smith@example.com"], Rcpts(m, "carol@example.com"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void KeysAreCaseFolded()
    {
        var m = new CleanupMaps(Base with { VirtualAliasMaps = Map(("bob@example.com", "robert@x")) });
        Assert.Equal(["robert@x"], Rcpts(m, "Bob@Example.COM"));
    }

    [Fact]
    public void AtDomainResultKeepsTheUser()
    {
        var m = new CleanupMaps(Base with { CanonicalMaps = Map(("@old.example", "@new.example")) });
        var (sender, rcpts, _) = m.Apply("alice@old.example", [new("bob@old.example", "", DsnNotify.None)]);
        Assert.Equal("alice@new.example", sender);
        Assert.Equal("bob@new.example", rcpts.Single().Address);
    }

    [Fact]
    public void SenderCanonicalThenCanonicalAndRecipientCanonicalOnlyForRecipients()
    {
        var m = new CleanupMaps(Base with
        {
            SenderCanonicalMaps = Map(("alice@host.example", "alice.smith@host.example")),
            CanonicalMaps = Map(("alice.smith@host.example", "Alice.Smith@corp.example")),
            RecipientCanonicalMaps = Map(("alice@host.example", "inbox-alice@host.example")),
        });
        var (sender, rcpts, _) = m.Apply("alice@host.example", [new("alice@host.example", "", DsnNotify.None)]);
        Assert.Equal("Alice.Smith@corp.example", sender);
        Assert.Equal("inbox-alice@host.example", rcpts.Single().Address);
    }

    [Fact]
    public void NullSenderIsNeverRewritten()
    {
        var m = new CleanupMaps(Base with { CanonicalMaps = Map(("@host.example", "x@y")), SenderBccMaps = Map(("@host.example", "archive@a")) });
        var (sender, rcpts, _) = m.Apply("", [new("bob@b", "", DsnNotify.None)]);
        Assert.Equal("", sender);
        Assert.Equal(["bob@b"], rcpts.Select(r => r.Address));
    }

    [Fact]
    public void VirtualAliasIsRecursiveAndStopsOnSelfReference()
    {
        var m = new CleanupMaps(Base with
        {
            VirtualAliasMaps = Map(
                ("team@example.com", "alice@example.com, bob@example.com"),
                ("alice@example.com", "alice@example.com, alice@backup.example"),  // keep a copy and forward
                ("bob@example.com", "robert@mail.example")),
        });
        Assert.Equal(["alice@example.com", "alice@backup.example", "robert@mail.example"], Rcpts(m, "team@example.com"));
    }

    [Fact]
    public void AliasLoopTerminates()
    {
        var m = new CleanupMaps(Base with { VirtualAliasMaps = Map(("a@x", "b@x"), ("b@x", "a@x")) });
        var result = Rcpts(m, "a@x");
        Assert.Single(result);
    }

    [Fact]
    public void RecursionLimitWarnsAndKeepsTheAddress()
    {
        var entries = Enumerable.Range(0, 20).Select(i => ($"u{i}@x", $"u{i + 1}@x")).ToArray();
        var m = new CleanupMaps(Base with { VirtualAliasMaps = Map(entries), VirtualAliasRecursionLimit = 5 });
        var (_, rcpts, warnings) = m.Apply("s@x", [new("u0@x", "", DsnNotify.None)]);
        Assert.Equal(["u5@x"], rcpts.Select(r => r.Address));
        Assert.Contains(warnings, w => w.Contains("virtual_alias_recursion_limit 5 exceeded"));
    }

    [Fact]
    public void ExpansionLimitWarnsAndTruncates()
    {
        var many = string.Join(", ", Enumerable.Range(0, 50).Select(i => $"m{i}@x"));
        var m = new CleanupMaps(Base with { VirtualAliasMaps = Map(("list@x", many)), VirtualAliasExpansionLimit = 10 });
        var (_, rcpts, warnings) = m.Apply("s@x", [new("list@x", "", DsnNotify.None)]);
        Assert.Equal(10, rcpts.Count);
        Assert.Contains(warnings, w => w.Contains("virtual_alias_expansion_limit 10 exceeded"));
    }

    [Fact]
    public void EachFinalRecipientOnceWhateverPathLeadsThere()
    {
        // Trap 2: bob is a recipient, also reached through a list, a virtual alias and a bcc map.
        var m = new CleanupMaps(Base with
        {
            VirtualAliasMaps = Map(("list@example.com", "bob@example.com, carol@example.com"), ("robert@example.com", "bob@example.com")),
            RecipientBccMaps = Map(("carol@example.com", "bob@example.com")),
        });
        Assert.Equal(["bob@example.com", "carol@example.com"], Rcpts(m, "bob@example.com", "list@example.com", "robert@example.com", "BOB@example.com"));
    }

    [Fact]
    public void SenderBccByDomainAddsArchiveWithNotifyNever()
    {
        var m = new CleanupMaps(Base with { SenderBccMaps = Map(("@example.com", "archive@example.com")) });
        var (_, rcpts, _) = m.Apply("alice@example.com", [new("bob@else.example", "", DsnNotify.Failure)]);
        Assert.Equal(["bob@else.example", "archive@example.com"], rcpts.Select(r => r.Address));
        Assert.Equal(DsnNotify.Never, rcpts[1].Notify);
        Assert.Equal(DsnNotify.Failure, rcpts[0].Notify);
        var (_, other, _) = m.Apply("alice@other.example", [new("bob@else.example", "", DsnNotify.None)]);
        Assert.Single(other);
    }

    [Fact]
    public void BccValueMayListSeveralAddressesAndGoesThroughVirtualAliases()
    {
        var m = new CleanupMaps(Base with
        {
            SenderBccMaps = Map(("alice@example.com", "a1@arch.example, a2@arch.example")),
            VirtualAliasMaps = Map(("a2@arch.example", "vault@store.example")),
        });
        Assert.Equal(["x@y", "a1@arch.example", "vault@store.example"],
            m.Apply("alice@example.com", [new("x@y", "", DsnNotify.None)]).Recipients.Select(r => r.Address));
    }

    [Fact]
    public void AlwaysBccGetsMyOriginAndIsAddedOnce()
    {
        var m = new CleanupMaps(Base with { AlwaysBcc = "audit" });
        Assert.Equal(["x@y", "audit@host.example"], Rcpts(m, "x@y"));
        Assert.Equal(["audit@host.example"], Rcpts(m, "audit@host.example"));
    }

    [Fact]
    public void ExpandedRecipientsRememberTheOriginalRecipient()
    {
        var m = new CleanupMaps(Base with { VirtualAliasMaps = Map(("info@example.com", "alice@corp.example")) });
        var r = m.Apply("s@x", [new("info@example.com", "", DsnNotify.None)]).Recipients.Single();
        Assert.Equal("alice@corp.example", r.Address);
        Assert.Equal("info@example.com", r.Orcpt);
    }

    [Fact]
    public void TraceNamesTheTableAndKeyOfEachStep()
    {
        var m = new CleanupMaps(Base with
        {
            CanonicalMaps = Map(("@old.example", "@example.com")),
            VirtualAliasMaps = Map(("bob@example.com", "robert@mail.example")),
        });
        var trace = new List<string>();
        m.Apply("s@x", [new("bob@old.example", "", DsnNotify.None)], trace);
        Assert.Equal(["canonical_maps: <bob@old.example> key \"@old.example\" -> bob@example.com",
            "virtual_alias_maps: <bob@example.com> key \"bob@example.com\" -> robert@mail.example"], trace);
    }

    [Fact]
    public void RewriteReplacesTheEnvelopeInTheMessageBuilder()
    {
        using var msg = new MessageBuilder(1000);
        msg.SetSender("a@old.example"u8);
        msg.AddRecipient("list@example.com"u8, default, DsnNotify.None);
        var m = new CleanupMaps(Base with
        {
            CanonicalMaps = Map(("@old.example", "@new.example")),
            VirtualAliasMaps = Map(("list@example.com", "x@y, z@w")),
        });
        m.Rewrite(msg);
        Assert.Equal("a@new.example", msg.SenderString());
        Assert.Equal(2, msg.RecipientCount);
        Assert.Equal(["x@y", "z@w"], CleanupMaps.DecodeRecipients(msg.RecipientBlock).Select(r => r.Address));
    }

    [Fact]
    public void HeaderAddressesAreRewrittenKeepingDisplayNamesAndFolding()
    {
        using var msg = new MessageBuilder(10000);
        msg.Content.Write("Received: from x by y; date\r\nFrom: \"Dave, Jr.\" <dave@legacy.example>\r\nTo: erin@legacy.example,\r\n\tBob <bob@legacy.example>\r\nCc: root\r\nSubject: dave@legacy.example stays\r\n\r\nbody dave@legacy.example\r\n"u8);
        var m = new CleanupMaps(Base with
        {
            CanonicalMaps = Map(("@legacy.example", "@example.com")),
            SenderCanonicalMaps = Map(("dave@example.com", "Dave.Jones@example.com")),
        });
        Assert.Equal(4, m.RewriteHeaders(msg));
        Assert.Equal("Received: from x by y; date\r\nFrom: \"Dave, Jr.\" <dave@example.com>\r\nTo: erin@example.com,\r\n\tBob <bob@example.com>\r\nCc: root@host.example\r\nSubject: dave@legacy.example stays\r\n\r\nbody dave@legacy.example\r\n",
            System.Text.Encoding.UTF8.GetString(msg.Content.Span));
    }
}
