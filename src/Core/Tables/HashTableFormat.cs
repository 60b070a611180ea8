// The on-disk format of our hash: tables (FILE.db, written by "postfix postmap"). Postfix's own
// hash: is Berkeley DB, which we do not write; this is an immutable open-addressing index:
//
//   header   64 bytes, little-endian:
//            0 magic "PFXHASH\n" | 8 u32 version (1) | 12 u32 flags (bit 0: keys folded,
//            bit 1: Unicode folding) | 16 u32 entries | 20 u32 slots (power of two, at least
//            2 x entries) | 24 u64 hash seed | 32 u64 records offset | 40 u64 records length |
//            48 u64 XxHash3 of bytes 64..end | 56 u64 XxHash3 of bytes 0..55
//   slots    u64 each: low 32 bits = high 32 bits of the key's XxHash3, high 32 bits = record
//            offset + 1 within the records section (0 = empty); home slot = hash & (slots - 1),
//            linear probing
//   records  u32 key length, u32 value length, key bytes (folded as built), value bytes; in
//            source order, so "postmap -s" lists the table as written
//
// Input: a file in the admin's config directory (trusted), still checked (magic, version,
// sizes, both checksums) before use, so a truncated or foreign file is a clear error.
using System.Buffers.Binary;
using System.IO.Hashing;
using Postfix.Core.Config;

namespace Postfix.Core.Tables;

internal static class HashTableFormat
{
    public const int HeaderSize = 64;
    public const uint Version = 1;
    public const uint FlagFolded = 1;
    public const uint FlagUnicodeFold = 2;
    public const ulong Seed = 0x9E3779B97F4A7C15;
    public static ReadOnlySpan<byte> Magic => "PFXHASH\n"u8;

    /// <summary>Records are addressed by 32-bit offsets and the file is read into one array.</summary>
    public static long MaxFileSize => Array.MaxLength;

    public readonly record struct Layout(uint Flags, int Entries, int Slots, int RecordsOffset, int RecordsLength);

    /// <summary>Checks a whole .db image; throws ConfigException naming the file and the fix.</summary>
    public static Layout Validate(ReadOnlySpan<byte> image, string dbPath, string rebuild)
    {
        if (image.Length < HeaderSize || !image[..8].SequenceEqual(Magic))
        {
            string what = IsBerkeleyDb(image)
                ? "is a Berkeley DB file (made by Postfix's own postmap), not our hash: format"
                : "is not a hash: table written by postfix postmap";
            throw new ConfigException($"database {dbPath} {what}; rebuild it with \"{rebuild}\"");
        }
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(image[8..]);
        if (version != Version)
            throw new ConfigException($"database {dbPath} has format version {version}, this build reads {Version}; rebuild it with \"{rebuild}\"");
        if (XxHash3.HashToUInt64(image[..56], unchecked((long)Seed)) != BinaryPrimitives.ReadUInt64LittleEndian(image[56..]))
            throw new ConfigException($"database {dbPath} has a corrupt header; rebuild it with \"{rebuild}\"");
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(image[12..]);
        uint entries = BinaryPrimitives.ReadUInt32LittleEndian(image[16..]);
        uint slots = BinaryPrimitives.ReadUInt32LittleEndian(image[20..]);
        ulong recordsOffset = BinaryPrimitives.ReadUInt64LittleEndian(image[32..]);
        ulong recordsLength = BinaryPrimitives.ReadUInt64LittleEndian(image[40..]);
        ulong seed = BinaryPrimitives.ReadUInt64LittleEndian(image[24..]);
        bool sane = seed == Seed && slots >= 2 && (slots & (slots - 1)) == 0 && entries < slots
            && recordsOffset == HeaderSize + (ulong)slots * 8 && recordsOffset + recordsLength == (ulong)image.Length;
        if (!sane)
            throw new ConfigException($"database {dbPath} is truncated or inconsistent; rebuild it with \"{rebuild}\"");
        if (XxHash3.HashToUInt64(image[HeaderSize..], unchecked((long)Seed)) != BinaryPrimitives.ReadUInt64LittleEndian(image[48..]))
            throw new ConfigException($"database {dbPath} fails its checksum; rebuild it with \"{rebuild}\"");
        return new Layout(flags, (int)entries, (int)slots, (int)recordsOffset, (int)recordsLength);
    }

    /// <summary>Berkeley DB hash (0x061561) or btree (0x053162) metadata magic at offset 12.</summary>
    public static bool IsBerkeleyDb(ReadOnlySpan<byte> image)
    {
        if (image.Length < 16) return false;
        uint le = BinaryPrimitives.ReadUInt32LittleEndian(image[12..]);
        uint be = BinaryPrimitives.ReadUInt32BigEndian(image[12..]);
        return le is 0x061561 or 0x053162 || be is 0x061561 or 0x053162;
    }

    public static ulong Hash(ReadOnlySpan<byte> key) => XxHash3.HashToUInt64(key, unchecked((long)Seed));

    /// <summary>Fills in the header of a complete image (records and slots already in place).</summary>
    public static void WriteHeader(Span<byte> image, uint flags, int entries, int slots, int recordsLength)
    {
        Magic.CopyTo(image);
        BinaryPrimitives.WriteUInt32LittleEndian(image[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(image[12..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(image[16..], (uint)entries);
        BinaryPrimitives.WriteUInt32LittleEndian(image[20..], (uint)slots);
        BinaryPrimitives.WriteUInt64LittleEndian(image[24..], Seed);
        BinaryPrimitives.WriteUInt64LittleEndian(image[32..], (ulong)(HeaderSize + (long)slots * 8));
        BinaryPrimitives.WriteUInt64LittleEndian(image[40..], (ulong)recordsLength);
        BinaryPrimitives.WriteUInt64LittleEndian(image[48..], XxHash3.HashToUInt64(image[HeaderSize..], unchecked((long)Seed)));
        BinaryPrimitives.WriteUInt64LittleEndian(image[56..], XxHash3.HashToUInt64(image[..56], unchecked((long)Seed)));
    }
}
