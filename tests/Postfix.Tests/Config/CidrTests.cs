// Tests for Cidr: Postfix network-block notation (man 5 postconf: mynetworks), membership
// checks including IPv4-mapped IPv6 client addresses, and allocation-free Contains().
using System.Net;
using Postfix.Core.Config;
using Xunit;

namespace Postfix.Tests.Config;

public sealed class CidrTests
{
    [Fact]
    public void CidrMatchesMappedIPv4()
    {
        var loopback = Cidr.Parse("127.0.0.0/8");
        Assert.True(loopback.Contains(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.True(loopback.Contains(IPAddress.Parse("127.255.0.9")));
        Assert.False(loopback.Contains(IPAddress.Parse("::ffff:128.0.0.1")));
        Assert.False(loopback.Contains(IPAddress.Parse("::1")));
        Assert.False(loopback.Contains(IPAddress.Parse("::127.0.0.1")));

        var mappedBlock = Cidr.Parse("[::ffff:0.0.0.0]/96");
        Assert.True(mappedBlock.Contains(IPAddress.Parse("10.1.2.3")));
    }

    [Theory]
    [InlineData("1.2.3.0/24", "1.2.3.0/24", false, 24)]
    [InlineData("10.0.0.1", "10.0.0.1/32", false, 32)]
    [InlineData("[10.0.0.1]", "10.0.0.1/32", false, 32)]
    [InlineData("[::1]/128", "[::1]/128", true, 128)]
    [InlineData("::1/128", "[::1]/128", true, 128)]
    [InlineData("::1", "[::1]/128", true, 128)]
    [InlineData("[fe80::]/10", "[fe80::]/10", true, 10)]
    [InlineData("0.0.0.0/0", "0.0.0.0/0", false, 0)]
    [InlineData("[::]/0", "[::]/0", true, 0)]
    public void ParsesPostfixNotations(string text, string canonical, bool v6, int prefix)
    {
        var cidr = Cidr.Parse(text);
        Assert.Equal(canonical, cidr.ToString());
        Assert.Equal(v6, cidr.IsIPv6);
        Assert.Equal(prefix, cidr.PrefixLength);
        Assert.Equal(cidr, Cidr.Parse(canonical));
    }

    [Theory]
    [InlineData("192.168.1.0/24", "192.168.1.255", true)]
    [InlineData("192.168.1.0/24", "192.168.2.0", false)]
    [InlineData("192.168.1.0/24", "192.168.0.255", false)]
    [InlineData("10.0.0.0/7", "11.255.255.255", true)]
    [InlineData("10.0.0.0/7", "12.0.0.0", false)]
    [InlineData("0.0.0.0/0", "203.0.113.9", true)]
    [InlineData("10.0.0.1", "10.0.0.1", true)]
    [InlineData("10.0.0.1", "10.0.0.2", false)]
    [InlineData("[2001:db8::]/32", "2001:db8:ffff::1", true)]
    [InlineData("[2001:db8::]/32", "2001:db9::1", false)]
    [InlineData("[2001:db8:0:1::]/65", "2001:db8:0:1:7fff::1", true)]
    [InlineData("[2001:db8:0:1::]/65", "2001:db8:0:1:8000::1", false)]
    [InlineData("[::1]/128", "::1", true)]
    [InlineData("[::1]/128", "::2", false)]
    [InlineData("[::]/0", "10.0.0.1", true)]
    [InlineData("[2001:db8::]/32", "10.0.0.1", false)]
    public void ContainsHonoursPrefixBoundaries(string block, string address, bool expected)
    {
        Assert.Equal(expected, Cidr.Parse(block).Contains(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("1.2.3.4/24", "non-null host address bits")]
    [InlineData("1.2.3.0/33", "prefix length")]
    [InlineData("[::1]/129", "prefix length")]
    [InlineData("1.2.3.0/", "prefix length")]
    [InlineData("1.2.3.0/x", "prefix length")]
    [InlineData("10", "bad network address")]
    [InlineData("10.1", "bad network address")]
    [InlineData("300.1.1.1", "bad network address")]
    [InlineData("fe80::1%eth0", "bad network address")]
    [InlineData("example.com", "bad network address")]
    [InlineData("", "bad network address")]
    public void RejectsMalformedBlocks(string text, string fragment)
    {
        Assert.False(Cidr.TryParse(text, out _, out var error));
        Assert.Contains(fragment, error);
        var ex = Assert.Throws<FormatException>(() => Cidr.Parse(text));
        Assert.Equal(error, ex.Message);
    }

    [Fact]
    public void HostBitsErrorSuggestsTheNetwork()
    {
        Assert.False(Cidr.TryParse("[2001:db8::1]/32", out _, out var error));
        Assert.Contains("\"[2001:db8::]/32\"", error);
    }

    [Fact]
    public void ContainsDoesNotAllocate()
    {
        var v4 = Cidr.Parse("127.0.0.0/8");
        var v6 = Cidr.Parse("[2001:db8::]/32");
        var mapped = IPAddress.Parse("::ffff:127.0.0.1");
        var plain = IPAddress.Parse("127.0.0.1");
        var six = IPAddress.Parse("2001:db8::5");
        bool warm = v4.Contains(mapped) & v4.Contains(plain) & v6.Contains(six) & v6.Contains(plain);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int hits = 0;
        for (int i = 0; i < 1000; i++)
        {
            hits += (v4.Contains(mapped) ? 1 : 0) + (v4.Contains(plain) ? 1 : 0) + (v6.Contains(six) ? 1 : 0);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.False(warm);
        Assert.Equal(3000, hits);
        Assert.Equal(0, allocated);
    }
}
