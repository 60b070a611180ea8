// cleanup(8)'s input side: one message being received, envelope plus content,
// held in pooled buffers that a session reuses for every transaction. smtpd,
// qmqpd and pickup fill it; QueueFile serialises it into one queue record.
// Input is untrusted network data; every buffer is bounded by a Postfix limit.
using System.Text;
using Postfix.Core.Queue;
using Postfix.Core.Util;

namespace Postfix.Core.Cleanup;

public sealed class MessageBuilder : IDisposable
{
    private readonly PooledBuffer _sender = new(256, 2048);
    private readonly PooledBuffer _envid = new(128, 512);
    private readonly PooledBuffer _recipients = new(1024);
    private readonly PooledBuffer _content;

    public MessageBuilder(long messageSizeLimit)
    {
        _content = new PooledBuffer(16 * 1024, messageSizeLimit <= 0 ? int.MaxValue : messageSizeLimit + 64 * 1024);
    }

    public QueueId QueueId { get; set; }
    public long ArrivalUnixMs { get; set; }
    public bool SmtpUtf8 { get; set; }
    public BodyType BodyType { get; set; }
    public DsnRet Ret { get; set; }
    public int RecipientCount { get; private set; }
    public bool HasSender { get; private set; }

    // Connection facts: set once per connection (strings are fine there).
    public string ClientName { get; set; } = "unknown";
    public string ClientAddress { get; set; } = "";
    public string Helo { get; set; } = "";
    public string Protocol { get; set; } = "SMTP";

    public ReadOnlySpan<byte> Sender => _sender.Span;
    public ReadOnlySpan<byte> EnvId => _envid.Span;
    public ReadOnlySpan<byte> RecipientBlock => _recipients.Span;
    public PooledBuffer Content => _content;
    public long ContentLength => _content.Length;

    /// <summary>Content bound: message_size_limit plus room for the headers we add.</summary>
    public long ContentLimit
    {
        get => _content.MaxSize;
        set => _content.MaxSize = (int)Math.Min(value, Array.MaxLength);
    }

    public void SetSender(ReadOnlySpan<byte> address)
    {
        _sender.Reset();
        _sender.Write(address);
        HasSender = true;
    }

    public void SetEnvId(ReadOnlySpan<byte> envid)
    {
        _envid.Reset();
        _envid.Write(envid);
    }

    /// <summary>Appends one recipient in queue-file form: u16 len, address, u16 len, orcpt, u8 notify.</summary>
    public void AddRecipient(ReadOnlySpan<byte> address, ReadOnlySpan<byte> orcpt, DsnNotify notify)
    {
        var span = _recipients.GetSpan(address.Length + orcpt.Length + 5);
        int n = QueueFile.WriteString(span, address);
        n += QueueFile.WriteString(span[n..], orcpt);
        span[n++] = (byte)notify;
        _recipients.Advance(n);
        RecipientCount++;
    }

    /// <summary>Drops all recipients (cleanup rewrites the list after address mapping).</summary>
    public void ClearRecipients()
    {
        _recipients.Reset();
        RecipientCount = 0;
    }

    /// <summary>Starts a transaction (MAIL FROM): clears everything but connection facts.</summary>
    public void Reset()
    {
        _sender.Reset();
        _envid.Reset();
        _recipients.Reset();
        _content.Reset();
        RecipientCount = 0;
        HasSender = false;
        SmtpUtf8 = false;
        BodyType = BodyType.None;
        Ret = DsnRet.None;
        QueueId = default;
        ArrivalUnixMs = 0;
    }

    public string SenderString() => Encoding.UTF8.GetString(_sender.Span);

    public void Dispose()
    {
        _sender.Dispose();
        _envid.Dispose();
        _recipients.Dispose();
        _content.Dispose();
    }
}
