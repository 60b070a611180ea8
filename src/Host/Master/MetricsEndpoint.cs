// The admin HTTP endpoint (our extension; Postfix has none): GET /metrics
// answers with every MailMetrics instrument in Prometheus text format 0.0.4,
// 404 for any other path. metrics_endpoint = host:port (default
// 127.0.0.1:9154, empty = off). Loopback by default; another address is
// allowed when an operator configures it, since anyone who reaches it reads
// the queue's statistics (it accepts no input and changes nothing). It is its
// own small Kestrel host, so a bind failure (port taken) costs a warning and
// no metrics, never the MTA. Requests are untrusted: headers and the request
// line are tightly bounded, bodies refused, connections capped.
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Postfix.Core.Diagnostics;
using Postfix.Core.Logging;
using Postfix.Core.Queue;

namespace Postfix.Host.Master;

public sealed class MetricsEndpoint : IAsyncDisposable
{
    public const string Parameter = "metrics_endpoint";

    private readonly IHost _web;
    private readonly MetricsCollector _collector;

    public IPEndPoint EndPoint { get; }

    private MetricsEndpoint(IHost web, MetricsCollector collector, IPEndPoint endPoint)
    {
        _web = web;
        _collector = collector;
        EndPoint = endPoint;
    }

    /// <summary>
    /// Starts collecting and serving; null when the parameter is empty, cannot be
    /// parsed or cannot be bound (each but the first logged as a warning).
    /// Start it before the daemons whose events it should count.
    /// </summary>
    public static async Task<MetricsEndpoint?> StartAsync(string value, Func<QueueState, long> queueCount, Maillog log)
    {
        value = value.Trim();
        if (value.Length == 0) return null;
        if (!TryParse(value, out var endPoint))
        {
            log.Warning("master", $"metrics endpoint {value}: expected host:port with an IP address or localhost; metrics disabled");
            return null;
        }
        var collector = new MetricsCollector(m => m.Name == MailMetrics.MeterName);
        var web = Build(endPoint, collector);
        try
        {
            await web.StartAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            log.Warning("master", $"metrics endpoint {value}: {e.Message}; metrics disabled");
            web.Dispose();
            collector.Dispose();
            return null;
        }
        MailMetrics.SetQueueSource(queueCount);
        MailMetrics.PublishZeros();
        log.Info("master", $"metrics on http://{FormatEndPoint(endPoint)}/metrics"
            + (IPAddress.IsLoopback(endPoint.Address) ? "" : " (not loopback: reachable from the network)"));
        return new MetricsEndpoint(web, collector, endPoint);
    }

    /// <summary>"127.0.0.1:9154", "[::1]:9154" or "localhost:9154"; no DNS lookups.</summary>
    public static bool TryParse(string value, out IPEndPoint endPoint)
    {
        endPoint = null!;
        string host, port;
        if (value.StartsWith('['))
        {
            int close = value.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0) return false;
            host = value[1..close];
            port = value[(close + 2)..];
        }
        else
        {
            int colon = value.LastIndexOf(':');
            if (colon <= 0) return false;
            host = value[..colon];
            port = value[(colon + 1)..];
            if (host.Contains(':')) return false; // a bare IPv6 address: brackets required
        }
        IPAddress? address = host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : null;
        if (address is null && !IPAddress.TryParse(host, out address)) return false;
        if (!int.TryParse(port, System.Globalization.NumberStyles.None, null, out int p) || p is < 1 or > 65535) return false;
        endPoint = new IPEndPoint(address, p);
        return true;
    }

    private static string FormatEndPoint(IPEndPoint ep) =>
        ep.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ep.Address}]:{ep.Port}" : ep.ToString();

    private static IHost Build(IPEndPoint endPoint, MetricsCollector collector) =>
        new HostBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .ConfigureWebHost(web => web
                .UseKestrelCore()
                .ConfigureKestrel(o =>
                {
                    o.AddServerHeader = false;
                    o.Limits.MaxConcurrentConnections = 16;
                    o.Limits.MaxRequestBodySize = 0;
                    o.Limits.MaxRequestLineSize = 1024;
                    o.Limits.MaxRequestHeadersTotalSize = 8192;
                    o.Limits.MaxRequestHeaderCount = 32;
                    o.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
                    o.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(30);
                    o.Listen(endPoint, lo => lo.Protocols = HttpProtocols.Http1);
                })
                .Configure(app => app.Run(ctx => ServeAsync(ctx, collector))))
            .Build();

    private static Task ServeAsync(HttpContext ctx, MetricsCollector collector)
    {
        var response = ctx.Response;
        if (!string.Equals(ctx.Request.Path.Value, "/metrics", StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            response.ContentType = "text/plain; charset=utf-8";
            return response.WriteAsync("not found; try /metrics\n");
        }
        if (!HttpMethods.IsGet(ctx.Request.Method) && !HttpMethods.IsHead(ctx.Request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return Task.CompletedTask;
        }
        string body = collector.Scrape();
        response.ContentType = PrometheusText.ContentType;
        return HttpMethods.IsHead(ctx.Request.Method) ? Task.CompletedTask : response.WriteAsync(body);
    }

    public async ValueTask DisposeAsync()
    {
        MailMetrics.SetQueueSource(null);
        using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try { await _web.StopAsync(grace.Token).ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        _web.Dispose();
        _collector.Dispose();
    }
}
