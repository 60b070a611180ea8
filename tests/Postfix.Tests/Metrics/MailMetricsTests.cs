// MailMetrics in process: the names an operator's dashboards depend on, the
// queue gauges reading whatever source master registers, and the recording
// path allocating nothing per message while an exporter listens (it runs for
// every connection, message and recipient).
using Postfix.Core.Diagnostics;
using Postfix.Core.Queue;
using Xunit;

namespace Postfix.Tests.Metrics;

public sealed class MailMetricsTests
{
    [Fact]
    public void RecordingWithAnExporterAttachedAllocatesNothing()
    {
        using var collector = new MetricsCollector(m => m.Name == MailMetrics.MeterName);
        var smtpd = MailMetrics.RegisterService("smtpd");
        void RecordOneMessage()
        {
            MailMetrics.SmtpdConnection(admitted: true);
            MailMetrics.MessageAccepted(smtpd);
            MailMetrics.RecipientSent("smtp", 0.42);
            MailMetrics.RecipientDeferred("smtp");
            MailMetrics.RecipientBounced("relay");
            MailMetrics.NoticeQueued("failure");
        }
        for (int i = 0; i < 100; i++) RecordOneMessage(); // first use of a label set creates its series
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) RecordOneMessage();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Contains("postfix_delivery_recipients_total{status=\"sent\",transport=\"smtp\"}", collector.Scrape());
    }

    [Fact]
    public void ExportedNamesAreStable()
    {
        using var collector = new MetricsCollector(m => m.Name == MailMetrics.MeterName);
        MailMetrics.SetQueueSource(s => s == QueueState.Deferred ? 42 : 0);
        try
        {
            MailMetrics.PublishZeros();
            MailMetrics.RegisterService("pickup");
            MailMetrics.RecipientSent("lmtp", 1.5);
            MailMetrics.RecipientDeferred("lmtp");
            MailMetrics.NoticeQueued("delay");
            var s = PrometheusScrape.Parse(collector.Scrape());
            Assert.Equal(42, s.Value("postfix_queue_messages", ("queue", "deferred")));
            Assert.Equal(0, s.Value("postfix_queue_messages", ("queue", "hold")));
            Assert.Equal("gauge", s.Types["postfix_queue_messages"]);
            Assert.Equal("counter", s.Types["postfix_smtpd_connections_total"]);
            Assert.Equal("counter", s.Types["postfix_messages_accepted_total"]);
            Assert.Equal("counter", s.Types["postfix_delivery_recipients_total"]);
            Assert.Equal("counter", s.Types["postfix_delivery_expired_total"]);
            Assert.Equal("counter", s.Types["postfix_bounce_notices_total"]);
            Assert.Equal("histogram", s.Types["postfix_delivery_delay_seconds"]);
            Assert.True(s.Value("postfix_messages_accepted_total", ("service", "pickup")) >= 0);
            Assert.True(s.Value("postfix_delivery_delay_seconds_bucket", ("le", "86400"), ("transport", "lmtp")) >= 1);
            Assert.True(s.Value("postfix_delivery_delay_seconds_bucket", ("le", "1"), ("transport", "lmtp"))
                        < s.Value("postfix_delivery_delay_seconds_bucket", ("le", "2.5"), ("transport", "lmtp")));
        }
        finally
        {
            MailMetrics.SetQueueSource(null);
        }
    }
}
