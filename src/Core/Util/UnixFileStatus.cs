// A file's type, mode, owner and link count as statx(2) reports them (see UnixFile).
// Kernel-reported facts; no external input.
namespace Postfix.Core.Util;

/// <summary>What statx(2) says about a file.</summary>
public readonly record struct UnixFileStatus(uint Mode, uint Uid, uint Gid, uint Links)
{
    public bool IsRegular => (Mode & 0xF000) == 0x8000;
    public bool IsDirectory => (Mode & 0xF000) == 0x4000;
    public bool IsSymlink => (Mode & 0xF000) == 0xA000;
}
