// One step of local(8)'s recursive delivery (Postfix LOCAL_STATE + DELIVER_ATTR,
// passed by value so each alias, include or .forward level has its own copy):
// the recipient being delivered, its parts, where it came from, and whose
// rights apply. Address parts come from untrusted envelope data.
namespace Postfix.Core.Local;

public readonly record struct LocalState
{
    /// <summary>Recursion depth (Postfix state.level): bounded by the nesting limit.</summary>
    public int Level { get; init; }

    /// <summary>The recipient at this level, as written (rcpt.address).</summary>
    public string Address { get; init; }

    /// <summary>The whole localpart, folded to lower case, with any extension.</summary>
    public string Local { get; init; }

    /// <summary>The localpart without extension: the alias key and passwd name.</summary>
    public string User { get; init; }

    public string? Extension { get; init; }

    /// <summary>The delimiter character that introduced the extension.</summary>
    public char Delimiter { get; init; }

    public string Domain { get; init; }

    /// <summary>Delivered-To: value (frozen_delivered_to: the recipient qmgr asked for).</summary>
    public string Delivered { get; init; }

    public LocalExpansionType ExpandType { get; init; }

    /// <summary>The alias (or user) whose expansion produced this recipient: its own name delivers to the user.</summary>
    public string? ExpandedFrom { get; init; }

    /// <summary>Set by .forward and :include: processing: local addresses found there are resubmitted.</summary>
    public string? Owner { get; init; }

    /// <summary>Whose rights /file and |command deliveries use (Postfix USER_ATTR).</summary>
    public LocalUser Rights { get; init; }
}
