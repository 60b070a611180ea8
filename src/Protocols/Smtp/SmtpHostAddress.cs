// One address to try for a destination, as smtp_addr.c produces them: the
// host name (MX exchange or the next-hop host), its address, the port, and the
// MX preference that ordered it.
using System.Net;

namespace Postfix.Protocols.Smtp;

public sealed record SmtpHostAddress(string Name, IPAddress Address, int Port, int Preference = 0);
