// One final result of local delivery for one destination reached from a
// recipient (Postfix's sent()/defer_append()/bounce_append() records):
// the address logged as to=<...>, the status and Postfix's reason text.
// Built by the agent; the address may come from untrusted alias/.forward text.
using Postfix.Core.Delivery;

namespace Postfix.Core.Local;

public readonly record struct LocalOutcome(string Address, DeliveryStatus Status, string Dsn, string Text);
