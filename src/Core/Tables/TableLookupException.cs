// A table could not answer a lookup (Postfix's DICT_ERR_RETRY): a regular expression that ran
// past its time limit, for example. Not "not found": the caller defers (4xx) and tries later.
// The message names the table and line; it may quote table content (trusted), never the key.
namespace Postfix.Core.Tables;

public sealed class TableLookupException(string message, Exception? inner = null) : Exception(message, inner);
