// Postfix's address lookup order (mail_addr_find): each step in order for user+ext@domain, with
// and without a recipient delimiter, the local-domain steps, @domain catch-alls, the access(5)
// order with parent domains, Postfix's never-split localparts, and pattern tables seeing only
// the whole address.
using System.Text;
using Postfix.Core.Tables;
using Xunit;

namespace Postfix.Tests.Tables;

public sealed class AddressKeyOrderTests
{
    private static bool IsLocal(ReadOnlySpan<byte> domain) => Ascii.EqualsIgnoreCase(domain, "local.test"u8);

    private static List<string> Keys(AddressKeyOrder order, string address)
    {
        var bytes = Encoding.UTF8.GetBytes(address);
        var scratch = new byte[bytes.Length];
        var keys = new List<string>();
        foreach (var key in order.GetKeys(bytes, scratch))
            keys.Add((key.Partial ? "~" : "") + key.ToString() + (key.Extension.IsEmpty ? "" : " -" + Encoding.UTF8.GetString(key.Extension)));
        return keys;
    }

    [Fact]
    public void VirtualOrderForALocalDomainWithExtension() =>
        Assert.Equal(
            ["user+ext@local.test", "~user@local.test -+ext", "~user+ext", "~user -+ext", "~@local.test"],
            Keys(new AddressKeyOrder(AddressKeyStrategy.Default, "+", IsLocal), "user+ext@local.test"));

    [Fact]
    public void VirtualOrderForARemoteDomainSkipsTheLocalpartSteps() =>
        Assert.Equal(
            ["user+ext@example.com", "~user@example.com -+ext", "~@example.com"],
            Keys(new AddressKeyOrder(AddressKeyStrategy.Default, "+", IsLocal), "user+ext@example.com"));

    [Fact]
    public void WithoutADelimiterThereIsNoExtensionStep() =>
        Assert.Equal(
            ["user+ext@local.test", "~user+ext", "~@local.test"],
            Keys(new AddressKeyOrder(AddressKeyStrategy.Default, "", IsLocal), "user+ext@local.test"));

    [Fact]
    public void AddressWithoutExtensionTriesFullLocalpartAndDomain() =>
        Assert.Equal(
            ["user@local.test", "~user", "~@local.test"],
            Keys(new AddressKeyOrder(AddressKeyStrategy.Default, "+", IsLocal), "user@local.test"));

    [Fact]
    public void VirtualMailboxOrderIsAddressThenCatchAll() =>
        Assert.Equal(
            ["u-x@local.test", "~u@local.test --x", "~@local.test"],
            Keys(new AddressKeyOrder(AddressKeyStrategy.VirtualMailbox, "+-", IsLocal), "u-x@local.test"));

    [Fact]
    public void AccessOrderWalksParentDomainsWithTheDot() =>
        Assert.Equal(
            ["user+foo@mail.example.com", "~user@mail.example.com -+foo", "~mail.example.com", "~.example.com", "~.com", "~user+foo@", "~user@ -+foo"],
            Keys(new AddressKeyOrder(AddressKeyStrategy.Access, "+"), "user+foo@mail.example.com"));

    [Fact]
    public void ParentMatchesSubdomainsDropsTheDot() =>
        Assert.Equal(
            ["u@a.b.c", "~a.b.c", "~b.c", "~c"],
            Keys(new AddressKeyOrder(AddressKeyStrategy.Full | AddressKeyStrategy.Domain | AddressKeyStrategy.ParentMatchesSubdomains), "u@a.b.c"));

    [Fact]
    public void LocalpartAtIfLocalAddsTheAtForms() =>
        Assert.Equal(
            ["u+x@local.test", "~u@local.test -+x", "~u+x@", "~u@ -+x"],
            Keys(new AddressKeyOrder(AddressKeyStrategy.Full | AddressKeyStrategy.NoExtension | AddressKeyStrategy.LocalpartAtIfLocal, "+", IsLocal), "u+x@local.test"));

    [Theory]
    [InlineData("MAILER-DAEMON@example.com")]
    [InlineData("double-bounce@example.com")]
    [InlineData("-x@example.com")]
    [InlineData("user@example.com")]
    public void SomeLocalpartsAreNeverSplit(string address) =>
        Assert.Equal([address, "~@example.com"], Keys(new AddressKeyOrder(AddressKeyStrategy.Default, "+-"), address));

    [Fact]
    public void PostmasterWithAnExtensionIsSplitLikeAnyOther() =>
        Assert.Equal(["postmaster+x@example.com", "~postmaster@example.com -+x", "~@example.com"],
            Keys(new AddressKeyOrder(AddressKeyStrategy.Default, "+"), "postmaster+x@example.com"));

    [Fact]
    public void OwnerAndRequestListsAreNotSplitOnDash()
    {
        var order = new AddressKeyOrder(AddressKeyStrategy.VirtualMailbox, "-");
        Assert.Equal(["owner-list@x", "~@x"], Keys(order, "owner-list@x"));
        Assert.Equal(["list-request@x", "~@x"], Keys(order, "list-request@x"));
        Assert.Equal(["list-x@x", "~list@x --x", "~@x"], Keys(order, "list-x@x"));
    }

    [Fact]
    public void BareLocalpartHasNoDomainSteps() =>
        Assert.Equal(["user+ext", "~user -+ext"], Keys(new AddressKeyOrder(AddressKeyStrategy.Default | AddressKeyStrategy.Domain, "+", IsLocal), "user+ext"));

    [Fact]
    public void TryFindAsksEveryTableBeforeTheNextKeyAndReportsTheExtension()
    {
        using var dir = new TableTestDir();
        var first = dir.Hash("first", "@example.com catchall\n");
        var second = dir.Hash("second", "user@example.com plain\n");
        var tables = new LookupTableList([first, second]);
        var order = new AddressKeyOrder(AddressKeyStrategy.Default, "+");
        Assert.True(order.TryFind(tables, "User+Tag@Example.com"u8, out var value, out var extension));
        Assert.Equal("plain", Encoding.UTF8.GetString(value));   // user@domain in table 2 beats @domain in table 1
        Assert.Equal("+Tag", Encoding.UTF8.GetString(extension));
        Assert.True(order.TryFind(tables, "other@example.com"u8, out value, out extension));
        Assert.Equal("catchall", Encoding.UTF8.GetString(value));
        Assert.True(extension.IsEmpty);
        Assert.False(order.TryFind(tables, "user@example.org"u8, out _, out _));
    }

    [Fact]
    public void PatternTablesSeeOnlyTheWholeAddress()
    {
        var regexp = LookupTables.Open("regexp:{ {/^user$/ bare}, {/^@example\\.com$/ at-domain} }");
        var order = new AddressKeyOrder(AddressKeyStrategy.Default, "+", IsLocal);
        Assert.False(order.TryFind(new LookupTableList([regexp]), "user@local.test"u8, out _, out _));
        Assert.False(order.TryFind(new LookupTableList([regexp]), "x@example.com"u8, out _, out _));
        var whole = LookupTables.Open("regexp:{ {/^user@local\\.test$/ whole} }");
        Assert.True(order.TryFind(new LookupTableList([whole]), "user@local.test"u8, out var v, out _));
        Assert.Equal("whole", Encoding.UTF8.GetString(v));
    }

    [Fact]
    public void TryFindAllocatesNothing()
    {
        using var dir = new TableTestDir();
        var tables = new LookupTableList([dir.Hash("v", "@example.com catchall\n")]);
        var order = new AddressKeyOrder(AddressKeyStrategy.Default, "+", IsLocal);
        var address = "someone+tag@Example.com"u8.ToArray();
        int n = 0;
        for (int i = 0; i < 100; i++) n += order.TryFind(tables, address, out _, out _) ? 1 : 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) n += order.TryFind(tables, address, out _, out _) ? 1 : 0;
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1100, n);
    }
}
