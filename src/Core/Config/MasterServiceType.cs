// The "type" column of a master.cf service entry (man 5 master): how clients reach the service.
// Parsed from trusted config text.
namespace Postfix.Core.Config;

public enum MasterServiceType
{
    /// <summary>TCP/IP listener; the service name is [host:]port.</summary>
    Inet,

    /// <summary>UNIX-domain stream socket under the queue directory.</summary>
    Unix,

    /// <summary>UNIX-domain datagram socket ("unix-dgram").</summary>
    UnixDgram,

    /// <summary>Named pipe (obsolete in Postfix, accepted for compatibility).</summary>
    Fifo,

    /// <summary>UNIX-domain socket with file-descriptor passing.</summary>
    Pass,
}
