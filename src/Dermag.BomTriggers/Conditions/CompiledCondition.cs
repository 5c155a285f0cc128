using System.Text.Json;
using Dermag.BomTriggers.Storage;

namespace Dermag.BomTriggers.Conditions;

/// <summary>A condition parsed, type-checked and compiled to one delegate; built once per trigger version.</summary>
internal sealed class CompiledCondition
{
    private readonly ConditionNode _root;
    private readonly Func<EvaluationInput, bool> _predicate;

    private CompiledCondition(ConditionNode root)
    {
        _root = root;
        _predicate = root.Compile();
        EqualityKey = FindEqualityKey(root);
    }

    /// <summary>A top-level <c>{"field": "text"}</c> clause every match must satisfy, used to index the rule set.</summary>
    public (string Path, string Value)? EqualityKey { get; }

    public static CompiledCondition? TryCompile(JsonElement? condition, string eventType, EventCatalog catalog, List<TriggerValidationError> errors, string basePointer = "/triggerCondition")
    {
        var root = ConditionParser.Parse(condition, eventType, catalog, errors, basePointer);
        return root is null ? null : new CompiledCondition(root);
    }

    public bool Matches(EvaluationInput input) => _predicate(input);

    public ConditionExplanation Explain(EvaluationInput input)
    {
        var trace = new List<ConditionTrace>();
        var matched = _root.Explain(input, trace, out var failure);
        return new ConditionExplanation(matched, matched ? null : failure, trace);
    }

    private static (string, string)? FindEqualityKey(ConditionNode root)
    {
        if (root is not AllNode all)
        {
            return null;
        }

        foreach (var item in all.Items)
        {
            if (item is FieldNode { Operator: FieldOperator.Eq } field && field.Literal.ValueKind == JsonValueKind.String)
            {
                return (field.Path, field.Literal.GetString()!);
            }
        }

        return null;
    }
}
