// showq(8) + a small admin channel: a Unix-domain socket at
// $queue_directory/public/showq. postqueue connects, sends one request line
// ("list", "json", "count", "flush", "reload"), and reads the answer until EOF.
// Only local users with access to the queue directory can reach it.
using System.Net.Sockets;
using System.Text;
using Postfix.Core.Logging;
using Postfix.Host.Commands;
using Postfix.Queue.Store;

namespace Postfix.Host.Master;

public sealed class ShowqService(QueueStore store, Maillog log, string socketPath, Action reload, Action flush) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task _loop = Task.CompletedTask;

    public void Start()
    {
        try { File.Delete(socketPath); } catch (IOException) { }
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen(16);
        _loop = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener!.AcceptAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var request = (await reader.ReadLineAsync(timeout.Token))?.Trim() ?? "";
            switch (request)
            {
                case "list": await QueueListing.WriteMailqAsync(store, writer); break;
                case "json": await QueueListing.WriteJsonAsync(store, writer); break;
                case "count": await QueueListing.WriteCountsAsync(store, writer); break;
                case "reload": reload(); await writer.WriteLineAsync("ok"); break;
                case "flush":
                    flush();
                    await writer.WriteLineAsync("ok");
                    break;
                default: await writer.WriteLineAsync($"error: unknown request \"{request}\""); break;
            }
            await writer.FlushAsync();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener?.Dispose();
        try { await _loop; } catch (Exception) { }
        try { File.Delete(socketPath); } catch (IOException) { }
    }
}
