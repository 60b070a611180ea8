// Builds queued messages and delivery requests for the smtp/lmtp client tests,
// and the short-timeout settings that keep each test bounded.
using System.Net;
using System.Text;
using Postfix.Core.Delivery;
using Postfix.Core.Queue;
using Postfix.Protocols.Smtp;

namespace Postfix.Tests.Smtp;

internal static class SmtpTestMessages
{
    public const string DefaultBody = "Subject: test\r\nFrom: <sender@example.org>\r\n\r\nHello.\r\n";

    public static QueuedMessage Message(string content = DefaultBody, string[]? recipients = null,
        string sender = "sender@example.org", BodyType body = BodyType.None, bool smtpUtf8 = false,
        DsnRet ret = DsnRet.None, string envId = "", DsnNotify notify = DsnNotify.None, string orcpt = "") =>
        Message(Encoding.UTF8.GetBytes(content), recipients, sender, body, smtpUtf8, ret, envId, notify, orcpt);

    public static QueuedMessage Message(byte[] content, string[]? recipients = null,
        string sender = "sender@example.org", BodyType body = BodyType.None, bool smtpUtf8 = false,
        DsnRet ret = DsnRet.None, string envId = "", DsnNotify notify = DsnNotify.None, string orcpt = "")
    {
        var rcpts = (recipients ?? ["rcpt@example.net"])
            .Select((a, i) => new QueuedRecipient(i, a, orcpt, notify)).ToArray();
        return new QueuedMessage(new QueueId(0x123456789AB), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            sender, envId, ret, body, smtpUtf8, "localhost", "127.0.0.1", "localhost", "ESMTP", rcpts, content);
    }

    public static DeliveryRequest Request(QueuedMessage message, string nexthop, string transport = "smtp") =>
        new(message, transport, nexthop, message.Recipients);

    /// <summary>Short timeouts so that a silent peer fails a test within seconds.</summary>
    public static SmtpClientSettings Settings(bool lmtp = false, TimeSpan? timeout = null, IPEndPoint? dns = null,
        bool cache = true, TimeSpan? cacheTime = null)
    {
        var t = timeout ?? TimeSpan.FromSeconds(10);
        return new SmtpClientSettings
        {
            HeloName = "client.example",
            Lmtp = lmtp,
            ConnectTimeout = t,
            HeloTimeout = t,
            MailTimeout = t,
            RcptTimeout = t,
            DataInitTimeout = t,
            DataXferTimeout = t,
            DataDoneTimeout = t,
            QuitTimeout = t,
            RsetTimeout = t,
            DnsTimeout = TimeSpan.FromSeconds(2),
            DnsServers = dns == null ? null : [dns],
            ConnectionCacheOnDemand = cache,
            ConnectionCacheTimeLimit = cacheTime ?? TimeSpan.FromSeconds(2),
        };
    }

    /// <summary>A bound for a whole test's deliveries.</summary>
    public static CancellationToken Bound(int seconds = 30) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}
