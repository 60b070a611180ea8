// What qmgr logs about a message it has just been handed (from=, size=, nrcpt=).
namespace Postfix.Queue.Store;

public readonly record struct CommittedInfo(string Sender, long Size, int RecipientCount);
