// A built bounce(8) notice as the tests see it: whether it was built, where it goes,
// its envelope and content, and the content parsed back with MimeKit.
using System.Text;
using MimeKit;
using Postfix.Core.Cleanup;
using Xunit;

namespace Postfix.Tests.Bounce;

internal sealed record Notice(bool Built, string? Recipient, MessageBuilder Builder)
{
    public byte[] Bytes => Builder.Content.Span.ToArray();
    public string Text => Encoding.UTF8.GetString(Bytes);

    public MimeMessage Parse() => MimeMessage.Load(new MemoryStream(Bytes));

    public MultipartReport Report() => Assert.IsType<MultipartReport>(Parse().Body);

    public MessageDeliveryStatus Status() => Assert.IsType<MessageDeliveryStatus>(Report()[1]);
}
