using System.Globalization;

namespace LossKit.Core;

/// <summary>A parsed parameter value: a number, an identifier (<c>mean</c>) or a list of numbers (<c>[1, 2, 0.5]</c>).</summary>
public sealed record SpecValue(double? Number, string? Identifier, IReadOnlyList<double>? List)
{
    public override string ToString() => LossParameter.Format(this);
}

/// <summary>A loss spec: a name and its key=value arguments, e.g. <c>ce(weight=[1,2,0.5], smoothing=0.1, reduction=sum)</c>.</summary>
public sealed record ParsedSpec(string Name, IReadOnlyDictionary<string, SpecValue> Arguments);

/// <summary>
/// Parses <c>name</c> or <c>name(key=value, ...)</c>. Grammar: value := number | identifier | identifier '(' args ')' (a nested spec, e.g. <c>divergence=jsd(beta=0.5)</c>) | '[' number (',' number)* ']'.
/// Errors are <see cref="ArgumentException"/>s (parameter name <c>spec</c>) that quote the spec and the position.
/// </summary>
public static class SpecParser
{
    public static ParsedSpec Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var p = new Cursor(spec);
        p.SkipSpace();
        string name = p.Identifier("a loss name");
        var args = new Dictionary<string, SpecValue>(StringComparer.Ordinal);
        p.SkipSpace();
        if (p.TryTake('('))
        {
            p.SkipSpace();
            if (!p.TryTake(')'))
            {
                while (true)
                {
                    p.SkipSpace();
                    string key = p.Identifier("a parameter name");
                    p.SkipSpace();
                    p.Expect('=');
                    p.SkipSpace();
                    SpecValue value = p.Value();
                    if (!args.TryAdd(key, value)) throw p.Error($"parameter '{key}' is given twice");
                    p.SkipSpace();
                    if (p.TryTake(')')) break;
                    p.Expect(',');
                }
            }
            p.SkipSpace();
        }
        if (!p.AtEnd) throw p.Error("unexpected text after the spec");
        return new ParsedSpec(name, args);
    }

    private sealed class Cursor(string text)
    {
        private int _i;
        public bool AtEnd => _i >= text.Length;
        public void SkipSpace() { while (_i < text.Length && char.IsWhiteSpace(text[_i])) _i++; }
        public bool TryTake(char c) { if (_i < text.Length && text[_i] == c) { _i++; return true; } return false; }
        public void Expect(char c) { if (!TryTake(c)) throw Error($"expected '{c}'"); }

        public ArgumentException Error(string what) =>
            new($"Malformed loss spec '{text}' at position {_i + 1}: {what}. Write name or name(key=value, ...), where a value is a number, an identifier or a list like [1, 2, 0.5].", "spec");

        public string Identifier(string what)
        {
            int start = _i;
            if (_i < text.Length && (char.IsLetter(text[_i]) || text[_i] == '_'))
                while (_i < text.Length && (char.IsLetterOrDigit(text[_i]) || text[_i] == '_')) _i++;
            if (_i == start) throw Error($"expected {what}");
            return text[start.._i];
        }

        public SpecValue Value()
        {
            if (TryTake('['))
            {
                var list = new List<double>();
                SkipSpace();
                if (TryTake(']')) return new SpecValue(null, null, list);
                while (true)
                {
                    SkipSpace();
                    list.Add(Number());
                    SkipSpace();
                    if (TryTake(']')) return new SpecValue(null, null, list);
                    Expect(',');
                }
            }
            if (_i < text.Length && (char.IsLetter(text[_i]) || text[_i] == '_'))
            {
                int start = _i;
                Identifier("a value");
                if (_i >= text.Length || text[_i] != '(') return new SpecValue(null, text[start.._i], null);
                // A nested spec, e.g. divergence=jsd(beta=0.5): the value is its text, checked by parsing it.
                int depth = 0;
                do
                {
                    if (text[_i] == '(') depth++;
                    else if (text[_i] == ')') depth--;
                    _i++;
                } while (depth > 0 && _i < text.Length);
                if (depth > 0) throw Error("expected ')' to close the nested spec");
                string nested = text[start.._i];
                try { Parse(nested); }
                catch (ArgumentException e) { throw Error($"the nested spec '{nested}' is malformed ({e.Message})"); }
                return new SpecValue(null, nested, null);
            }
            return new SpecValue(Number(), null, null);
        }

        private double Number()
        {
            int start = _i;
            while (_i < text.Length && (char.IsDigit(text[_i]) || text[_i] is '.' or '-' or '+' or 'e' or 'E')) _i++;
            if (_i > start && double.TryParse(text.AsSpan(start, _i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) return v;
            _i = start;
            throw Error("expected a number");
        }
    }
}
