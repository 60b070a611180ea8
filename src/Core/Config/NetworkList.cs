// Turns a mynetworks-style parameter (man 5 postconf: mynetworks, smtpd_client_event_limit_exceptions)
// into CIDR blocks: "net/mask" and "[ipv6]/mask" items, and "/file/name" items read one block per
// line. "type:table" lookups, "!" negation and hostname patterns are rejected. Trusted input.
namespace Postfix.Core.Config;

internal static class NetworkList
{
    internal static IReadOnlyList<Cidr> Parse(MainCf main, string parameter)
    {
        var result = new List<Cidr>();
        foreach (var item in main.GetList(parameter))
        {
            if (item.StartsWith('/'))
            {
                AddFile(main, parameter, item, result);
            }
            else
            {
                result.Add(ParseItem(main, parameter, item));
            }
        }

        return result;
    }

    private static Cidr ParseItem(MainCf main, string parameter, string item)
    {
        if (Cidr.TryParse(item, out var cidr, out var error))
        {
            return cidr;
        }

        if (item.StartsWith('!'))
        {
            throw main.ErrorFor(parameter, $"negated pattern \"{item}\" is not supported");
        }

        int colon = item.IndexOf(':');
        if (colon > 0 && !item.StartsWith('[') && IsTableType(item.AsSpan(0, colon)) && !LooksLikeIPv6(item))
        {
            throw main.ErrorFor(parameter,
                $"lookup table \"{item}\" is not supported; list network blocks or a /file/name instead");
        }

        if (!item.Contains(':') && item.Any(char.IsAsciiLetter))
        {
            throw main.ErrorFor(parameter, $"hostname pattern \"{item}\" is not supported; use a network address");
        }

        throw main.ErrorFor(parameter, error);
    }

    private static void AddFile(MainCf main, string parameter, string path, List<Cidr> result)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw main.ErrorFor(parameter, $"cannot read \"{path}\": {e.Message}");
        }

        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            foreach (var item in ValueSyntax.SplitList(line))
            {
                if (!Cidr.TryParse(item, out var cidr, out var error))
                {
                    throw new ConfigException($"{error} (used by parameter \"{parameter}\")", path, i + 1);
                }

                result.Add(cidr);
            }
        }
    }

    private static bool IsTableType(ReadOnlySpan<char> type)
    {
        foreach (char c in type)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '-')
            {
                return false;
            }
        }

        return char.IsAsciiLetter(type[0]);
    }

    private static bool LooksLikeIPv6(string item)
    {
        int slash = item.IndexOf('/');
        string address = slash < 0 ? item : item[..slash];
        return System.Net.IPAddress.TryParse(address, out var ip)
            && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
    }
}
