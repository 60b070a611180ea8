// The queue's on-disk layout parameters, fixed when the queue is created: the
// log page must hold the largest message record, and a FASTER log cannot change
// its page size later. Stored as "pagebits=N" in log/layout.
namespace Postfix.Queue.Store;

internal static class QueueLayout
{
    public static int LoadOrCreatePageBits(string logDir, long messageSizeLimit)
    {
        long needed = Math.Max(messageSizeLimit, 1 << 20) + (1 << 20); // headers we add, envelope
        int wanted = 22;
        while ((1L << wanted) < needed && wanted < 30) wanted++;
        var path = Path.Combine(logDir, "layout");
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path).Trim();
            if (text.StartsWith("pagebits=", StringComparison.Ordinal) && int.TryParse(text.AsSpan(9), out int bits) && bits is >= 16 and <= 30)
            {
                if ((1L << bits) < needed)
                    throw new InvalidOperationException(
                        $"{path}: queue was created for records up to {1L << bits} bytes; message_size_limit={messageSizeLimit} needs a new queue_directory");
                return bits;
            }
            throw new InvalidOperationException($"{path}: malformed layout file");
        }
        File.WriteAllText(path, $"pagebits={wanted}\n");
        return wanted;
    }
}
