// hash: table lookups (HashTable.TryLookup) on a 100,000-entry table built by the postmap code
// path and opened from its FILE.db, as trivial-rewrite and cleanup will query transport_maps
// and virtual_alias_maps: a hit with a lowercase key, a hit that needs case folding, a miss,
// and a virtual(5) address search (user+ext@domain -> ... -> @domain) through AddressKeyOrder.
// Figures are per lookup over 1,024 different keys; the target is <= 100 ns and 0 B allocated.
using System.Text;
using BenchmarkDotNet.Attributes;
using Postfix.Core.Tables;

namespace Postfix.Bench;

[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 8)]
public class TableLookupBenchmarks
{
    private const int Entries = 100_000;
    private const int Keys = 1024;

    private string _dir = "";
    private HashTable _table = null!;
    private LookupTableList _list = null!;
    private AddressKeyOrder _virtualOrder = null!;
    private byte[][] _hits = [];
    private byte[][] _mixedCase = [];
    private byte[][] _misses = [];
    private byte[][] _extensions = [];

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "postfix-bench-tables-" + Environment.ProcessId);
        Directory.CreateDirectory(_dir);
        var source = Path.Combine(_dir, "virtual");
        var text = new StringBuilder();
        for (int i = 0; i < Entries; i++) text.Append($"user{i}@domain{i % 1000}.example.com  mailbox{i}@store.example.net\n");
        text.Append("@catchall.example.org  postmaster@example.org\n");
        File.WriteAllText(source, text.ToString());
        var builder = new HashTableBuilder(KeyFoldMode.Utf8);
        TableSource.Load(File.ReadAllBytes(source), source, source + ".db", TableSource.Flavor.Postmap, builder, KeyFoldMode.Utf8, true, null);
        builder.WriteAtomically(source + ".db");
        _table = HashTable.Open(source);
        _list = new LookupTableList([_table]);
        _virtualOrder = new AddressKeyOrder(AddressKeyStrategy.Default, "+");

        var random = new Random(42);
        _hits = new byte[Keys][];
        _mixedCase = new byte[Keys][];
        _misses = new byte[Keys][];
        _extensions = new byte[Keys][];
        for (int k = 0; k < Keys; k++)
        {
            int i = random.Next(Entries);
            _hits[k] = Encoding.UTF8.GetBytes($"user{i}@domain{i % 1000}.example.com");
            _mixedCase[k] = Encoding.UTF8.GetBytes($"User{i}@Domain{i % 1000}.Example.COM");
            _misses[k] = Encoding.UTF8.GetBytes($"nobody{i}@domain{i % 1000}.example.com");
            _extensions[k] = Encoding.UTF8.GetBytes($"someone{i}+tag@catchall.example.org");
        }
        if (Hit() != Keys || HitMixedCase() != Keys || Miss() != 0 || VirtualSearchCatchAll() != Keys)
            throw new InvalidOperationException("benchmark keys do not behave as intended");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Baseline = true, OperationsPerInvoke = Keys)]
    public int Hit() => Run(_hits);

    [Benchmark(OperationsPerInvoke = Keys)]
    public int HitMixedCase() => Run(_mixedCase);

    [Benchmark(OperationsPerInvoke = Keys)]
    public int Miss() => Run(_misses);

    /// <summary>Three lookups per address: user+tag@domain and user@domain miss, @domain hits.</summary>
    [Benchmark(OperationsPerInvoke = Keys)]
    public int VirtualSearchCatchAll()
    {
        int found = 0;
        foreach (var address in _extensions)
            found += _virtualOrder.TryFind(_list, address, out _, out _) ? 1 : 0;
        return found;
    }

    private int Run(byte[][] keys)
    {
        int found = 0;
        foreach (var key in keys)
            found += _table.TryLookup(key, out _) ? 1 : 0;
        return found;
    }
}
