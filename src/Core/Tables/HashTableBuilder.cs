// Builds the image of a hash: table (HashTableFormat) in memory: postmap(1) compiling a source
// file, and the in-memory texthash: and inline: tables. Keys are folded here as the table will
// fold lookups; duplicates follow DuplicatePolicy and the caller words the warning. Writing is
// atomic: a temporary file in the same directory, fsync, rename over FILE.db, so a daemon
// (re)opening the table sees the old or the new one, never half of one (the directory itself is
// not fsynced: .NET cannot open a directory). Input: parsed table
// source (trusted); sizes are checked against the format's 2 GiB limit.
using System.Buffers.Binary;
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

public sealed class HashTableBuilder
{
    public enum AddResult { Added, Duplicate, Replaced, BadKey }

    private readonly KeyFoldMode _fold;
    private readonly DuplicatePolicy _duplicates;
    private byte[] _staging = new byte[4096];
    private int _stagingLength;
    private readonly List<int> _records = [];   // staging offset of each entry's live record, in insertion order
    private readonly List<ulong> _hashes = [];
    private int[] _index = new int[16];          // open addressing over entries: entry number + 1, 0 = empty
    private long _liveBytes;

    public HashTableBuilder(KeyFoldMode fold, DuplicatePolicy duplicates = DuplicatePolicy.Warn)
    {
        _fold = fold;
        _duplicates = duplicates;
    }

    public int Count => _records.Count;

    /// <summary>True when a duplicate should be reported (postmap's default, not -r or -w).</summary>
    public bool WarnsOnDuplicates => _duplicates == DuplicatePolicy.Warn;

    /// <summary>Adds an entry; the key is folded first. BadKey: not valid UTF-8 under Unicode folding.</summary>
    public AddResult Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (TableKeyFold.IsFolded(_fold, key)) return AddFolded(key, value);
        var folded = TableKeyFold.FoldToArray(_fold, key);
        return folded is null ? AddResult.BadKey : AddFolded(folded, value);
    }

    private AddResult AddFolded(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ulong hash = HashTableFormat.Hash(key);
        int mask = _index.Length - 1;
        for (int i = (int)hash & mask; ; i = (i + 1) & mask)
        {
            int entry = _index[i] - 1;
            if (entry < 0)
            {
                _index[i] = _records.Count + 1;
                _records.Add(Stage(key, value));
                _hashes.Add(hash);
                if (_records.Count * 2 > _index.Length) Grow();
                return AddResult.Added;
            }
            if (_hashes[entry] == hash && KeyOf(_records[entry]).SequenceEqual(key))
            {
                if (_duplicates != DuplicatePolicy.Replace) return AddResult.Duplicate;
                _liveBytes -= RecordLength(_records[entry]);
                _records[entry] = Stage(key, value);
                return AddResult.Replaced;
            }
        }
    }

    /// <summary>True when the table has this (already folded) key.</summary>
    public bool Contains(ReadOnlySpan<byte> foldedKey)
    {
        ulong hash = HashTableFormat.Hash(foldedKey);
        int mask = _index.Length - 1;
        for (int i = (int)hash & mask; _index[i] != 0; i = (i + 1) & mask)
        {
            int entry = _index[i] - 1;
            if (_hashes[entry] == hash && KeyOf(_records[entry]).SequenceEqual(foldedKey)) return true;
        }
        return false;
    }

    /// <summary>The complete .db image.</summary>
    public byte[] ToImage()
    {
        int slots = 16;
        while (slots < _records.Count * 2) slots <<= 1;
        long total = HashTableFormat.HeaderSize + (long)slots * 8 + _liveBytes;
        if (total > HashTableFormat.MaxFileSize)
            throw new ConfigException($"table too large: {total} bytes (the hash: format holds at most {HashTableFormat.MaxFileSize} bytes)");
        var image = GC.AllocateUninitializedArray<byte>((int)total);
        int slotsAt = HashTableFormat.HeaderSize, recordsAt = slotsAt + slots * 8;
        image.AsSpan(slotsAt, slots * 8).Clear();
        int mask = slots - 1, offset = 0;
        for (int e = 0; e < _records.Count; e++)
        {
            int length = RecordLength(_records[e]);
            _staging.AsSpan(_records[e], length).CopyTo(image.AsSpan(recordsAt + offset));
            ulong hash = _hashes[e];
            int i = (int)hash & mask;
            while (BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(slotsAt + i * 8)) != 0) i = (i + 1) & mask;
            BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(slotsAt + i * 8), (hash >> 32) | ((ulong)(uint)(offset + 1) << 32));
            offset += length;
        }
        uint flags = _fold switch
        {
            KeyFoldMode.Ascii => HashTableFormat.FlagFolded,
            KeyFoldMode.Utf8 => HashTableFormat.FlagFolded | HashTableFormat.FlagUnicodeFold,
            _ => 0,
        };
        HashTableFormat.WriteHeader(image, flags, _records.Count, slots, offset);
        return image;
    }

    /// <summary>Writes FILE.db atomically (temporary file in the same directory, fsync, rename).</summary>
    public void WriteAtomically(string dbPath, UnixFileMode? mode = null)
    {
        var image = ToImage();
        var full = Path.GetFullPath(dbPath);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (mode is { } m && !OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = m;
            using (var fs = new FileStream(temp, fileOptions))
            {
                fs.Write(image);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
    }

    private int Stage(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        long need = (long)_stagingLength + 8 + key.Length + value.Length;
        if (need > HashTableFormat.MaxFileSize)
            throw new ConfigException($"table too large (the hash: format holds at most {HashTableFormat.MaxFileSize} bytes)");
        if (need > _staging.Length) Array.Resize(ref _staging, (int)Math.Min(HashTableFormat.MaxFileSize, Math.Max(need, (long)_staging.Length * 2)));
        int at = _stagingLength;
        var span = _staging.AsSpan(at);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)key.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)value.Length);
        key.CopyTo(span[8..]);
        value.CopyTo(span[(8 + key.Length)..]);
        _stagingLength = (int)need;
        _liveBytes += 8 + key.Length + value.Length;
        return at;
    }

    private ReadOnlySpan<byte> KeyOf(int record) =>
        _staging.AsSpan(record + 8, (int)BinaryPrimitives.ReadUInt32LittleEndian(_staging.AsSpan(record)));

    private int RecordLength(int record) =>
        8 + (int)BinaryPrimitives.ReadUInt32LittleEndian(_staging.AsSpan(record)) + (int)BinaryPrimitives.ReadUInt32LittleEndian(_staging.AsSpan(record + 4));

    private void Grow()
    {
        var index = new int[_index.Length * 2];
        int mask = index.Length - 1;
        for (int e = 0; e < _hashes.Count; e++)
        {
            int i = (int)_hashes[e] & mask;
            while (index[i] != 0) i = (i + 1) & mask;
            index[i] = e + 1;
        }
        _index = index;
    }
}
