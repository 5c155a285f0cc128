using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>A parsed, type-checked condition clause. Each node compiles to a delegate once; explain walks the nodes.</summary>
internal abstract class ConditionNode(string pointer)
{
    public string Pointer { get; } = pointer;

    public abstract Func<EvaluationInput, bool> Compile();

    /// <summary>
    /// Evaluates and returns whether the clause held and, when not, the failure to report. With a trace every clause is
    /// recorded; without one (a dispatch reporting ConditionFalse) evaluation stops at the first failure and passing
    /// clauses are not described, so the report costs little more than the match.
    /// </summary>
    public abstract bool Explain(EvaluationInput input, List<ConditionTrace>? trace, out ConditionFailure? failure);
}

internal sealed class AllNode(string pointer, IReadOnlyList<ConditionNode> items, string name) : ConditionNode(pointer)
{
    // An array, so explaining a false condition (every ConditionFalse outcome of a dispatch) enumerates without allocating.
    private readonly ConditionNode[] _items = [.. items];

    public IReadOnlyList<ConditionNode> Items => _items;

    public override Func<EvaluationInput, bool> Compile()
    {
        var compiled = _items.Select(i => i.Compile()).ToArray();
        return compiled.Length switch
        {
            0 => static _ => true,
            1 => compiled[0],
            _ => input =>
            {
                foreach (var item in compiled)
                {
                    if (!item(input))
                    {
                        return false;
                    }
                }

                return true;
            },
        };
    }

    public override bool Explain(EvaluationInput input, List<ConditionTrace>? trace, out ConditionFailure? failure)
    {
        failure = null;
        var passed = true;
        foreach (var item in _items)
        {
            if (!item.Explain(input, trace, out var itemFailure) && passed)
            {
                passed = false;
                failure = itemFailure;
                if (trace is null)
                {
                    return false;
                }
            }
        }

        if (_items.Length == 0)
        {
            trace?.Add(new ConditionTrace(Pointer, name + " {} (always true)", true, "n/a"));
        }

        return passed;
    }
}

internal sealed class AnyNode(string pointer, IReadOnlyList<ConditionNode> items) : ConditionNode(pointer)
{
    public override Func<EvaluationInput, bool> Compile()
    {
        var compiled = items.Select(i => i.Compile()).ToArray();
        return input =>
        {
            foreach (var item in compiled)
            {
                if (item(input))
                {
                    return true;
                }
            }

            return false;
        };
    }

    public override bool Explain(EvaluationInput input, List<ConditionTrace>? trace, out ConditionFailure? failure)
    {
        var passed = false;
        foreach (var item in items)
        {
            passed |= item.Explain(input, trace, out _);
        }

        if (passed && trace is null)
        {
            failure = null;
            return true;
        }

        var clause = $"$any of {items.Count} alternative(s)";
        var actual = passed ? "one matched" : "none matched";
        trace?.Add(new ConditionTrace(Pointer, clause, passed, actual));
        failure = passed ? null : new ConditionFailure(Pointer, clause, actual);
        return passed;
    }
}

internal sealed class NotNode(string pointer, ConditionNode inner) : ConditionNode(pointer)
{
    public override Func<EvaluationInput, bool> Compile()
    {
        var compiled = inner.Compile();
        return input => !compiled(input);
    }

    public override bool Explain(EvaluationInput input, List<ConditionTrace>? trace, out ConditionFailure? failure)
    {
        var innerPassed = inner.Explain(input, trace, out _);
        if (!innerPassed && trace is null)
        {
            failure = null;
            return true;
        }

        var actual = innerPassed ? "the negated condition matched" : "the negated condition did not match";
        trace?.Add(new ConditionTrace(Pointer, "$not", !innerPassed, actual));
        failure = innerPassed ? new ConditionFailure(Pointer, "$not", actual) : null;
        return !innerPassed;
    }
}

/// <summary>One operator applied to one field. Literals were type-checked against the field when parsed.</summary>
internal sealed class FieldNode : ConditionNode
{
    private readonly FieldPath _path;
    private readonly string _clause;
    private Func<EvaluationInput, bool>? _compiled;

    public FieldNode(string pointer, string path, ConditionOperator op, JsonElement literal)
        : base(pointer)
    {
        Path = path;
        Operator = op;
        Literal = literal;
        _path = new FieldPath(path);

        // Described when parsed (a trigger's clauses are parsed once per version), not in the dispatch that first reports it false.
        _clause = Describe();
    }

    public string Path { get; }

    public ConditionOperator Operator { get; }

    public JsonElement Literal { get; }

    // One delegate for the compiled condition and for explanations, built when the condition compiles (at snapshot load),
    // so the first ConditionFalse of a trigger does not compile it again in the dispatch.
    public override Func<EvaluationInput, bool> Compile() => _compiled ??= Operator.Compile(_path, Literal);

    public override bool Explain(EvaluationInput input, List<ConditionTrace>? trace, out ConditionFailure? failure)
    {
        var passed = Compile()(input);
        if (passed && trace is null)
        {
            failure = null;
            return true;
        }

        var clause = _clause;
        var actual = JsonValues.Describe(input.Current(_path));
        if (Operator.ComparesPrevious)
        {
            actual = $"from {JsonValues.Describe(input.Before(_path))} to {actual}";
        }

        trace?.Add(new ConditionTrace(Pointer, clause, passed, actual));
        failure = passed ? null : new ConditionFailure(Pointer, clause, actual);
        return passed;
    }

    private string Describe()
    {
        if (Operator.ComparesPrevious && Literal.ValueKind == JsonValueKind.Object)
        {
            var from = Literal.TryGetProperty("from", out var f) ? " from " + f.GetRawText() : string.Empty;
            var to = Literal.TryGetProperty("to", out var t) ? " to " + t.GetRawText() : string.Empty;
            return $"{Path} {Operator.Name}{from}{to}";
        }

        return Operator.ComparesPrevious ? $"{Path} {Operator.Name}" : $"{Path} {Operator.Name} {Literal.GetRawText()}";
    }
}
