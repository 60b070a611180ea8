// A fact that needs the real Postfix postmap (Debian's postfix package, installed by
// scripts/install-test-deps.sh); skipped with the reason when it is not there. Test-only.
using Xunit;

namespace Postfix.Tests.Tables;

public sealed class RealPostmapFactAttribute : FactAttribute
{
    public const string RealPostmap = "/usr/sbin/postmap";

    public RealPostmapFactAttribute()
    {
        if (!File.Exists(RealPostmap)) Skip = $"{RealPostmap} is not installed (scripts/install-test-deps.sh installs postfix)";
    }
}
