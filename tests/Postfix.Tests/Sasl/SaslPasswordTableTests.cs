// The table back end's file format and password schemes, without a server:
// each scheme verifies its own hashes and nothing else, and a bad line is a
// load error naming file:line.
using Postfix.Protocols.Sasl;
using Xunit;

namespace Postfix.Tests.Sasl;

public sealed class SaslPasswordTableTests
{
    [Theory]
    [InlineData("PLAIN")]
    [InlineData("SSHA256")]
    [InlineData("SSHA512")]
    [InlineData("PBKDF2-SHA256")]
    public void EachSchemeVerifiesOnlyTheRightPassword(string scheme)
    {
        var stored = SaslPasswordScheme.Hash("pässword", scheme, 1000);
        Assert.StartsWith("{" + scheme + "}", stored);
        Assert.True(SaslPasswordScheme.IsSupported(stored, out var error), error);
        Assert.True(SaslPasswordScheme.Verify(stored, "pässword"));
        Assert.False(SaslPasswordScheme.Verify(stored, "password"));
        Assert.False(SaslPasswordScheme.Verify(stored, ""));
    }

    [Fact]
    public void DovecotSsha256HashVerifies()
    {
        // doveadm pw -s SSHA256 -p secret (salt 0x01020304): base64(SHA256("secret" + salt) + salt)
        var salt = new byte[] { 1, 2, 3, 4 };
        var hash = System.Security.Cryptography.SHA256.HashData([.. "secret"u8.ToArray(), .. salt]);
        var stored = "{SSHA256}" + Convert.ToBase64String([.. hash, .. salt]);
        Assert.True(SaslPasswordScheme.Verify(stored, "secret"));
    }

    [Fact]
    public async Task TableLoadsUsersAndIgnoresExtraFields()
    {
        var f = Path.GetTempFileName();
        try
        {
            File.WriteAllText(f, "# comment\n\nalice:{PLAIN}a:1000:1000::/home/alice\nbob:" + SaslPasswordScheme.Hash("b", "SSHA256") + "\n");
            var t = SaslPasswordTable.Load(f);
            Assert.Equal(2, t.Count);
            Assert.Equal(SaslOutcome.Ok, (await t.VerifyAsync("alice", "a", default)).Outcome);
            Assert.Equal(SaslOutcome.Ok, (await t.VerifyAsync("bob", "b", default)).Outcome);
            Assert.Equal(SaslOutcome.Failed, (await t.VerifyAsync("Alice", "a", default)).Outcome);
            Assert.Equal(SaslOutcome.Failed, (await t.VerifyAsync("carol", "a", default)).Outcome);
        }
        finally { File.Delete(f); }
    }

    [Theory]
    [InlineData("alice\n", ":1: expected user")]
    [InlineData("alice:secret\n", ":1: missing {SCHEME}")]
    [InlineData("alice:{MD5}abc\n", ":1: unsupported password scheme {MD5}")]
    [InlineData("alice:{PLAIN}a\nalice:{PLAIN}b\n", ":2: duplicate user")]
    [InlineData("alice:{PBKDF2-SHA256}1$x$y\n", ":1: {PBKDF2-SHA256}")]
    public void BadLinesAreLoadErrorsWithFileAndLine(string text, string expected)
    {
        var f = Path.GetTempFileName();
        try
        {
            File.WriteAllText(f, text);
            var e = Assert.Throws<FormatException>(() => SaslPasswordTable.Load(f));
            Assert.Contains(f + expected, e.Message);
        }
        finally { File.Delete(f); }
    }
}
