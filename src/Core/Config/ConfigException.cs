// Error in a Postfix configuration file (main.cf, master.cf, or a file they name), reported
// the way postconf(1) does: "file:line: message". Corresponds to Postfix's msg_fatal() on
// configuration errors. The message text may quote untrusted config content; it is not escaped.
namespace Postfix.Core.Config;

public sealed class ConfigException : Exception
{
    public ConfigException(string message, string? file = null, int line = 0, Exception? inner = null)
        : base(Format(message, file, line), inner)
    {
        File = file;
        Line = line;
        Detail = message;
    }

    /// <summary>The configuration file the error is in, or null (embedded default, override, unknown).</summary>
    public string? File { get; }

    /// <summary>The 1-based line number of the logical line in <see cref="File"/>, or 0 if none.</summary>
    public int Line { get; }

    /// <summary>The message without the "file:line: " prefix.</summary>
    public string Detail { get; }

    private static string Format(string message, string? file, int line)
    {
        if (file is null)
        {
            return message;
        }

        return line > 0 ? $"{file}:{line}: {message}" : $"{file}: {message}";
    }
}
