// One key of an address lookup (AddressKeyOrder), pointing into the address or the caller's
// scratch buffer. Derived from an envelope address (untrusted).
namespace Postfix.Core.Tables;

/// <summary>One lookup key. <see cref="Partial"/>: derived from the address (not offered to
/// pattern tables). <see cref="Extension"/>: the "+ext" removed to form it, or empty.</summary>
public readonly ref struct AddressKey(ReadOnlySpan<byte> key, bool partial, ReadOnlySpan<byte> extension, Range extensionRange)
{
    public ReadOnlySpan<byte> Key { get; } = key;
    public bool Partial { get; } = partial;
    public ReadOnlySpan<byte> Extension { get; } = extension;

    /// <summary>Where <see cref="Extension"/> is in the address (empty range when none).</summary>
    public Range ExtensionRange { get; } = extensionRange;

    public override string ToString() => System.Text.Encoding.UTF8.GetString(Key);
}
