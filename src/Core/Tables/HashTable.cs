// hash:/path/file (Postfix's dict_db in hash mode): lookups in FILE.db, our indexed format
// (HashTableFormat) written by "postfix postmap"; also the engine of the in-memory texthash: and
// inline: tables. The whole .db is read into one byte[] at open rather than memory-mapped: our
// daemons share one process, so there is one copy either way; a managed array gives bounds-checked
// spans with no unsafe code in Core; the checksum check at open reads every byte anyway; and a
// rebuilt table (renamed over FILE.db) is picked up by simply opening again on reload, while the
// old image stays valid for lookups in flight. Lookups fold the key into a stack buffer, hash it
// (XxHash3), probe, and compare bytes: no allocation. Keys are untrusted; the file is trusted and
// checked at open.
using System.Buffers.Binary;
using System.Text;
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

public sealed class HashTable : ILookupTable
{
    private readonly byte[] _image;
    private readonly int _slotMask;
    private readonly int _recordsOffset;
    private readonly int _recordsLength;
    private readonly KeyFoldMode _fold;

    private HashTable(string name, byte[] image, HashTableFormat.Layout layout, KeyFoldMode fold)
    {
        Name = name;
        _image = image;
        _slotMask = layout.Slots - 1;
        _recordsOffset = layout.RecordsOffset;
        _recordsLength = layout.RecordsLength;
        Count = layout.Entries;
        _fold = fold;
    }

    public string Name { get; }

    /// <summary>Number of entries.</summary>
    public int Count { get; }

    /// <summary>Opens hash:<paramref name="sourcePath"/>, i.e. reads <paramref name="sourcePath"/>.db.</summary>
    public static HashTable Open(string sourcePath, TableOptions? options = null)
    {
        options ??= TableOptions.Default;
        var dbPath = sourcePath + ".db";
        byte[] image;
        try
        {
            image = File.ReadAllBytes(dbPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException($"open database {dbPath}: No such file or directory");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"open database {dbPath}: {e.Message}");
        }
        var layout = HashTableFormat.Validate(image, dbPath, $"postfix postmap hash:{sourcePath}");
        if (File.Exists(sourcePath) && File.GetLastWriteTimeUtc(sourcePath) > File.GetLastWriteTimeUtc(dbPath))
            options.Warn?.Invoke($"database {dbPath} is older than source file {sourcePath}");
        return new HashTable("hash:" + sourcePath, image, layout, options.Fold);
    }

    /// <summary>A table over an image built in memory (texthash:, inline:).</summary>
    public static HashTable FromBuilder(string name, HashTableBuilder builder, TableOptions? options = null)
    {
        var image = builder.ToImage();
        var layout = HashTableFormat.Validate(image, name, "(in memory)");
        return new HashTable(name, image, layout, (options ?? TableOptions.Default).Fold);
    }

    public string? Lookup(string key) => ILookupTable.LookupString(this, key);

    public bool TryLookup(scoped ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        if (_fold == KeyFoldMode.None) return Find(key, out value);
        if (key.Length <= TableKeyFold.StackLimit)
        {
            Span<byte> folded = stackalloc byte[TableKeyFold.MaxFoldedLength(TableKeyFold.StackLimit)];
            int n = TableKeyFold.Fold(_fold, key, folded);
            value = default;
            return n >= 0 && Find(folded[..n], out value);
        }
        return FindLongKey(key, out value);
    }

    private bool FindLongKey(scoped ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        byte[] folded = System.Buffers.ArrayPool<byte>.Shared.Rent(TableKeyFold.MaxFoldedLength(key.Length));
        try
        {
            int n = TableKeyFold.Fold(_fold, key, folded);
            value = default;
            return n >= 0 && Find(folded.AsSpan(0, n), out value);
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(folded); }
    }

    private bool Find(scoped ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        ulong hash = HashTableFormat.Hash(key);
        uint tag = (uint)(hash >> 32);
        ReadOnlySpan<byte> image = _image;
        ReadOnlySpan<byte> slots = image.Slice(HashTableFormat.HeaderSize, (_slotMask + 1) * 8);
        ReadOnlySpan<byte> records = image.Slice(_recordsOffset, _recordsLength);
        int i = (int)hash & _slotMask;
        for (int probes = 0; probes <= _slotMask; probes++, i = (i + 1) & _slotMask)
        {
            ulong slot = BinaryPrimitives.ReadUInt64LittleEndian(slots.Slice(i * 8));
            uint offset = (uint)(slot >> 32);
            if (offset == 0) break;
            if ((uint)slot != tag) continue;
            var record = records.Slice((int)offset - 1);
            int keyLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(record);
            if (keyLength != key.Length || !record.Slice(8, keyLength).SequenceEqual(key)) continue;
            value = record.Slice(8 + keyLength, (int)BinaryPrimitives.ReadUInt32LittleEndian(record.Slice(4)));
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>Every entry in source order (postmap -s).</summary>
    public IEnumerable<(string Key, string Value)> Entries()
    {
        for (int at = 0; at < _recordsLength;)
        {
            var (key, value, next) = ReadRecord(at);
            yield return (key, value);
            at = next;
        }
    }

    private (string Key, string Value, int Next) ReadRecord(int at)
    {
        var record = _image.AsSpan(_recordsOffset + at, _recordsLength - at);
        int k = (int)BinaryPrimitives.ReadUInt32LittleEndian(record);
        int v = (int)BinaryPrimitives.ReadUInt32LittleEndian(record[4..]);
        return (Encoding.UTF8.GetString(record.Slice(8, k)), Encoding.UTF8.GetString(record.Slice(8 + k, v)), at + 8 + k + v);
    }
}
