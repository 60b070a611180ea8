// Produces the keys of one address lookup in Postfix's order (see AddressKeyOrder); a ref struct
// over the address and a scratch buffer, so a lookup allocates nothing. Input: the envelope
// address (untrusted, syntax-checked by smtpd).
namespace Postfix.Core.Tables;

public ref struct AddressKeyEnumerator
{
    private enum Step { Start, Full, NoExt, Localpart, LocalpartNoExt, LocalpartAt, LocalpartAtNoExt, AtDomain, Domain, AnyLocalpartAt, AnyLocalpartAtNoExt, Done }

    private readonly AddressKeyOrder _order;
    private readonly ReadOnlySpan<byte> _address;
    private readonly Span<byte> _scratch;
    private readonly int _at;        // last '@', or -1
    private readonly int _extension; // delimiter index in the localpart, or -1
    private Step _step;
    private int _domainStart;        // Domain step: start of the current (parent) domain name
    private bool? _local;
    private AddressKey _current;

    internal AddressKeyEnumerator(AddressKeyOrder order, ReadOnlySpan<byte> address, Span<byte> scratch, int at, int extension)
    {
        _order = order;
        _address = address;
        _scratch = scratch;
        _at = at;
        _extension = extension;
        _step = Step.Start;
        _domainStart = -1;
        _local = null;
        _current = default;
    }

    public readonly AddressKey Current => _current;

    public readonly AddressKeyEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        var s = _order.Strategy;
        while (_step != Step.Done)
        {
            _step++;
            switch (_step)
            {
                case Step.Full when Has(s, AddressKeyStrategy.Full):
                    return Yield(_address, partial: false, extension: default);
                case Step.NoExt when _extension >= 0:
                    return Yield(WithoutExtension(_address), partial: true, Extension());
                case Step.Localpart when Has(s, AddressKeyStrategy.LocalpartIfLocal) && IsLocal():
                    return Yield(_address[.._at], partial: true, extension: default);
                case Step.LocalpartNoExt when Has(s, AddressKeyStrategy.LocalpartIfLocal) && _extension >= 0 && IsLocal():
                    return Yield(_address[.._extension], partial: true, Extension());
                case Step.LocalpartAt when Has(s, AddressKeyStrategy.LocalpartAtIfLocal) && IsLocal():
                    return Yield(_address[..(_at + 1)], partial: true, extension: default);
                case Step.LocalpartAtNoExt when Has(s, AddressKeyStrategy.LocalpartAtIfLocal) && _extension >= 0 && IsLocal():
                    return Yield(WithoutExtension(_address[..(_at + 1)]), partial: true, Extension());
                case Step.AtDomain when Has(s, AddressKeyStrategy.AtDomain) && _at >= 0:
                    return Yield(_address[_at..], partial: true, extension: default);
                case Step.Domain when Has(s, AddressKeyStrategy.Domain) && _at >= 0:
                    if (NextDomain()) return Yield(_address[_domainStart..], partial: true, extension: default);
                    continue;
                case Step.AnyLocalpartAt when Has(s, AddressKeyStrategy.LocalpartAt) && _at >= 0:
                    return Yield(_address[..(_at + 1)], partial: true, extension: default);
                case Step.AnyLocalpartAtNoExt when Has(s, AddressKeyStrategy.LocalpartAt) && _extension >= 0 && _at >= 0:
                    return Yield(WithoutExtension(_address[..(_at + 1)]), partial: true, Extension());
            }
        }
        return false;
    }

    // The domain, then (with a parent flag) each parent, with or without its leading dot.
    private bool NextDomain()
    {
        var s = _order.Strategy;
        if (_domainStart < 0)
        {
            _domainStart = _at + 1;
        }
        else
        {
            bool dotted = Has(s, AddressKeyStrategy.ParentDotSubdomains);
            if (!dotted && !Has(s, AddressKeyStrategy.ParentMatchesSubdomains)) return false;
            int next = _domainStart + 1 >= _address.Length ? -1 : _address[(_domainStart + 1)..].IndexOf((byte)'.');
            if (next < 0) return false;
            _domainStart += 1 + next + (dotted ? 0 : 1);
        }
        if (_domainStart >= _address.Length) return false;
        _step--; // stay on Domain for the next parent
        return true;
    }

    private bool Yield(ReadOnlySpan<byte> key, bool partial, ReadOnlySpan<byte> extension)
    {
        int start = _extension < 0 ? 0 : _extension;
        _current = new AddressKey(key, partial, extension, extension.IsEmpty ? new Range(0, 0) : new Range(start, start + extension.Length));
        return true;
    }

    private readonly ReadOnlySpan<byte> Extension()
    {
        int end = _at >= 0 ? _at : _address.Length;
        return _address[_extension..end];
    }

    // The part before the extension plus everything from the '@' on, built in the scratch buffer.
    private readonly ReadOnlySpan<byte> WithoutExtension(ReadOnlySpan<byte> keyWithExtension)
    {
        int end = _at >= 0 ? _at : _address.Length;
        var head = _address[.._extension];
        var tail = keyWithExtension[end..];
        head.CopyTo(_scratch);
        tail.CopyTo(_scratch[head.Length..]);
        return _scratch[..(head.Length + tail.Length)];
    }

    private bool IsLocal()
    {
        if (_at < 0) return false;
        _local ??= _order.IsLocal?.Invoke(_address[(_at + 1)..]) ?? false;
        return _local.Value;
    }

    private static bool Has(AddressKeyStrategy s, AddressKeyStrategy flag) => (s & flag) != 0;
}
