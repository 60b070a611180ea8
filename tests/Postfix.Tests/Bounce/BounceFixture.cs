// Test data for bounce(8) notices: queued messages built directly (QueuedMessage is a
// record), delivery results, and a parse of the produced notice with MimeKit.
using System.Text;
using MimeKit;
using Postfix.Core.Bounce;
using Postfix.Core.Cleanup;
using Postfix.Core.Delivery;
using Postfix.Core.Queue;

namespace Postfix.Tests.Bounce;

internal static class BounceFixture
{
    public const string Hostname = "mx.example.org";
    public static readonly QueueId Id = new(0x4C3B2A190807);
    public static readonly DateTimeOffset Arrival = new(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);
    public static readonly DateTimeOffset Now = Arrival.AddHours(5);

    public const string Content =
        "Received: from client.example.org by mx.example.org\r\n" +
        "\tfor <bob@example.net>; Tue, 4 Mar 2025 05:06:07 +0000\r\n" +
        "From: Alice <alice@example.org>\r\n" +
        "To: bob@example.net\r\n" +
        "Subject: hello\r\n" +
        "Message-Id: <1@example.org>\r\n" +
        "\r\n" +
        "body line 1\r\n" +
        "body line 2\r\n";

    public const string UserUnknown =
        "host mx.example.net[192.0.2.25] said: 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command)";

    public static BounceSettings Settings(IReadOnlyList<string>? notifyClasses = null, int bounceSizeLimit = 50000) => new()
    {
        MyHostname = Hostname,
        DelayWarningTime = TimeSpan.FromHours(4),
        BounceSizeLimit = bounceSizeLimit,
        NotifyClasses = notifyClasses ?? ["resource", "software"],
    };

    public static QueuedRecipient Rcpt(int index, string address, DsnNotify notify = DsnNotify.None, string? orcpt = null) =>
        new(index, address, orcpt ?? "", notify);

    public static QueuedMessage Message(IReadOnlyList<QueuedRecipient> recipients, string sender = "alice@example.org",
        DsnRet ret = DsnRet.None, string envId = "", string content = Content) =>
        new(Id, Arrival.ToUnixTimeMilliseconds(), sender, envId, ret, BodyType.None, false,
            "client.example.org", "192.0.2.1", "client.example.org", "ESMTP", recipients,
            Encoding.UTF8.GetBytes(content));

    public static RecipientResult Bounced(QueuedRecipient r, string diagnostic = UserUnknown) =>
        new(r, DeliveryStatus.Bounced, "5.1.1", diagnostic);

    public static RecipientResult Deferred(QueuedRecipient r) =>
        new(r, DeliveryStatus.Deferred, "4.4.1", "connect to mx.example.net[192.0.2.25]:25: Connection refused");

    public static RecipientResult Sent(QueuedRecipient r) =>
        new(r, DeliveryStatus.Sent, "2.0.0", "delivered to mailbox");

    public static Notice Build(QueuedMessage message, BounceKind kind, BounceSettings? settings = null,
        params RecipientResult[] results)
    {
        var into = new MessageBuilder(10_000_000);
        bool built = BounceMessage.TryBuild(message, results, kind, settings ?? Settings(), Now, into, out var recipient);
        return new Notice(built, recipient, into);
    }
}
