// One node's queue summary as the master publishes it to the cluster store (our extension;
// Postfix has no cluster view): the node's name, its SMTP listen addresses (where peers hand
// mail to it while it drains), its state, when it was written, how many messages each queue
// holds, and the qshape data (per recipient domain and age bucket, qshape's default buckets).
// Stored as JSON under "{cluster_key_prefix}queue:{node}" with a TTL of three publish
// intervals, so a node that dies disappears; node names are kept in the set
// "{cluster_key_prefix}queue-nodes" so a vanished node is still shown (as absent).
// Input: the store, written by our own masters but read as untrusted JSON (bounded, checked).
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Postfix.Cluster;

public sealed record ClusterQueueSummary
{
    public const string Running = "running";
    public const string Draining = "draining";
    public const string Stopped = "stopped";

    /// <summary>A summary larger than this is not read (the publisher caps domains long before).</summary>
    public const int MaxJsonBytes = 4 << 20;

    public required string Node { get; init; }
    /// <summary>smtpd listen addresses, "host:port" (a wildcard address published as 127.0.0.1).</summary>
    public string[] Smtp { get; init; } = [];
    /// <summary>running, draining or stopped.</summary>
    public required string State { get; init; }
    public long Time { get; init; }
    /// <summary>cluster_publish_interval in seconds: a summary older than two of them is stale.</summary>
    public double Interval { get; init; }
    public long Incoming { get; init; }
    public long Active { get; init; }
    public long Deferred { get; init; }
    public long Hold { get; init; }
    /// <summary>Per queue name (incoming, active, deferred, hold): its recipient-domain shape.</summary>
    public Dictionary<string, ClusterQueueShape> Shape { get; init; } = [];

    [JsonIgnore] public long Total => Incoming + Active + Deferred + Hold;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        MaxDepth = 8,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Null when the text is not a summary we understand.</summary>
    public static ClusterQueueSummary? TryParse(string? json)
    {
        if (string.IsNullOrEmpty(json) || json.Length > MaxJsonBytes) return null;
        try { return JsonSerializer.Deserialize<ClusterQueueSummary>(json, Json); }
        catch (JsonException) { return null; }
    }
}

/// <summary>qshape's numbers for one queue: per domain, [total, bucket 1..Buckets].</summary>
public sealed record ClusterQueueShape
{
    public int BucketMinutes { get; init; }
    public int Buckets { get; init; }
    public Dictionary<string, long[]> Domains { get; init; } = [];
}
