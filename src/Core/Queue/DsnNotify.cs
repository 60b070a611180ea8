// RFC 3461 DSN parameters as stored with each recipient / message.
namespace Postfix.Core.Queue;

[Flags]
public enum DsnNotify : byte
{
    None = 0,       // not given: default (FAILURE,DELAY)
    Never = 1,
    Success = 2,
    Failure = 4,
    Delay = 8,
}

public enum DsnRet : byte
{
    None = 0,
    Full = 1,
    Hdrs = 2,
}

public enum BodyType : byte
{
    None = 0,
    SevenBit = 1,
    EightBitMime = 2,
    BinaryMime = 3,
}
