// trivial-rewrite's canonical form for local submissions: append_at_myorigin
// and append_dot_mydomain, unit and through sendmail -bv as an operator sees it.
using Postfix.Core.Rewrite;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Rewrite;

public class AddressCanonicalTests
{
    [Theory]
    [InlineData("root", true, false, "root@origin.example")]
    [InlineData("root", false, false, "root")]
    [InlineData("bob@host", true, true, "bob@host.example.com")]
    [InlineData("bob@host", true, false, "bob@host")]
    [InlineData("root", true, true, "root@origin.example")]
    [InlineData("bob@a.b", true, true, "bob@a.b")]
    [InlineData("bob@[192.0.2.1]", true, true, "bob@[192.0.2.1]")]
    [InlineData("", true, true, "")]
    [InlineData("user@", true, false, "user@origin.example")]
    public void CanonicalForm(string input, bool atOrigin, bool dotDomain, string expected) =>
        Assert.Equal(expected, new AddressCanonical("origin.example", "example.com", atOrigin, dotDomain).Rewrite(input));

    [Fact]
    public async Task SendmailBvShowsTheCanonicalForm()
    {
        await using var mta = MtaInstance.Prepare("mydomain = example.com\nappend_dot_mydomain = yes\nrelayhost = [127.0.0.1]:2599");
        var r = await mta.SendmailAsync("", "-bv", "bob@host", "root");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("bob@host.example.com: default address", r.Stdout);
        Assert.Contains("root@mx.test.example: local address", r.Stdout);
    }
}
