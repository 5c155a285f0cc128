using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>A condition parsed, type-checked and compiled to one delegate; built once per trigger version.</summary>
internal sealed class CompiledCondition
{
    private readonly ConditionNode _root;
    private readonly Func<EvaluationInput, bool> _predicate;

    private CompiledCondition(ConditionNode root)
    {
        _root = root;
        _predicate = root.Compile();
        EqualityKeys = FindEqualityKeys(root);
    }

    /// <summary>
    /// The top-level <c>{"field": "text"}</c> clauses every match must satisfy, in path order (never in the order the JSON
    /// had: PostgreSQL's <c>jsonb</c> reorders keys). The rule set indexes each trigger on one of them.
    /// </summary>
    public IReadOnlyList<(string Path, string Value)> EqualityKeys { get; }

    public static CompiledCondition? TryCompile(JsonElement? condition, string eventType, EventCatalog catalog, List<TriggerValidationError> errors, string basePointer = "/triggerCondition")
    {
        var root = ConditionParser.Parse(condition, eventType, catalog, errors, basePointer);
        return root is null ? null : new CompiledCondition(root);
    }

    public bool Matches(EvaluationInput input) => _predicate(input);

    /// <summary>
    /// Whether the condition matches and, when it does not, the first clause that failed: one walk, where
    /// <see cref="Matches(EvaluationInput)"/> then <see cref="FirstFailure"/> evaluate a false condition twice.
    /// </summary>
    public bool Matches(EvaluationInput input, out ConditionFailure? failure) => _root.Explain(input, trace: null, out failure);

    /// <summary>The first clause that fails, or null when the condition matches; cheaper than <see cref="Explain"/>.</summary>
    public ConditionFailure? FirstFailure(EvaluationInput input)
    {
        _root.Explain(input, trace: null, out var failure);
        return failure;
    }

    public ConditionExplanation Explain(EvaluationInput input)
    {
        var trace = new List<ConditionTrace>();
        var matched = _root.Explain(input, trace, out var failure);
        return new ConditionExplanation(matched, matched ? null : failure, trace);
    }

    private static (string Path, string Value)[] FindEqualityKeys(ConditionNode root) => root is AllNode all
        ? [.. all.Items
            .OfType<FieldNode>()
            .Where(f => ReferenceEquals(f.Operator, ConditionOperators.Eq) && f.Literal.ValueKind == JsonValueKind.String)
            .Select(f => (f.Path, f.Literal.GetString()!))
            .OrderBy(k => k.Path, StringComparer.Ordinal)]
        : [];
}
