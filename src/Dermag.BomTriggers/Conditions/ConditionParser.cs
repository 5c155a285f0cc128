using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>
/// Parses and type-checks a condition against an event type's fields, collecting every problem with a JSON Pointer.
/// Never throws on bad input: anything it cannot accept becomes an error.
/// </summary>
internal sealed class ConditionParser : IOperatorLiteralChecks
{
    public const int MaxDepth = 32;

    private readonly EventCatalog _catalog;
    private readonly string _eventType;
    private readonly List<TriggerValidationError> _errors;

    private ConditionParser(EventCatalog catalog, string eventType, List<TriggerValidationError> errors)
    {
        _catalog = catalog;
        _eventType = eventType;
        _errors = errors;
    }

    /// <summary>Parses <paramref name="condition"/>; returns null when it has errors (added to <paramref name="errors"/>).</summary>
    public static ConditionNode? Parse(
        JsonElement? condition,
        string eventType,
        EventCatalog catalog,
        List<TriggerValidationError> errors,
        string basePointer = "/triggerCondition")
    {
        var before = errors.Count;
        var parser = new ConditionParser(catalog, eventType, errors);
        if (condition is not { } element || element.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return new AllNode(basePointer, [], "condition");
        }

        // Text the stores cannot hold alike (or System.Text.Json cannot read) is reported first and alone: parsing it could throw.
        if (!StorableJson.Check(element, basePointer, errors))
        {
            return null;
        }

        var node = parser.ParseObject(element, basePointer, 0, "condition");
        return errors.Count == before ? node : null;
    }

    public static string Escape(string token) => token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private ConditionNode? ParseObject(JsonElement element, string pointer, int depth, string name)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return Error(pointer, "expected an object");
        }

        if (depth > MaxDepth)
        {
            return Error(pointer, $"conditions may nest at most {MaxDepth} levels");
        }

        var items = new List<ConditionNode>();
        foreach (var property in element.EnumerateObject())
        {
            var childPointer = pointer + "/" + Escape(property.Name);
            switch (property.Name)
            {
                case "$all":
                case "$any":
                {
                    if (property.Value.ValueKind != JsonValueKind.Array)
                    {
                        Error(childPointer, "expected an array of conditions");
                        continue;
                    }

                    var children = new List<ConditionNode>();
                    var index = 0;
                    foreach (var child in property.Value.EnumerateArray())
                    {
                        if (ParseObject(child, childPointer + "/" + index, depth + 1, "$all") is { } parsed)
                        {
                            children.Add(parsed);
                        }

                        index++;
                    }

                    items.Add(property.Name == "$all" ? new AllNode(childPointer, children, "$all") : new AnyNode(childPointer, children));
                    break;
                }

                case "$not":
                    if (ParseObject(property.Value, childPointer, depth + 1, "$not") is { } inner)
                    {
                        items.Add(new NotNode(childPointer, inner));
                    }

                    break;
                default:
                    if (property.Name.StartsWith('$'))
                    {
                        Error(childPointer, IsFieldOperator(property.Name)
                            ? $"'{property.Name}' applies to a field; write {{\"field\": {{\"{property.Name}\": ...}}}}"
                            : $"unknown operator '{property.Name}'; expected $all, $any, $not or a field name");
                        continue;
                    }

                    ParseField(property.Name, property.Value, childPointer, items);
                    break;
            }
        }

        return new AllNode(pointer, items, name);
    }

    private void ParseField(string path, JsonElement value, string pointer, List<ConditionNode> items)
    {
        var field = _catalog.Field(_eventType, path);
        if (field is null)
        {
            var known = _catalog.Get(_eventType)?.Fields.Select(f => f.Path) ?? [];
            Error(pointer, $"unknown field '{path}' for {_eventType}; known fields: {string.Join(", ", known)}");
            return;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            // The original's plain form: {"field": value} means equality.
            if (CheckLiteral(value, field.Type, pointer, allowNull: true))
            {
                items.Add(new FieldNode(pointer, path, ConditionOperators.Eq, value.Clone()));
            }

            return;
        }

        var count = 0;
        foreach (var op in value.EnumerateObject())
        {
            count++;
            var opPointer = pointer + "/" + Escape(op.Name);
            if (!op.Name.StartsWith('$'))
            {
                Error(opPointer, $"expected an operator such as $eq; nested objects are not fields (use a dotted path such as '{path}.{op.Name}')");
                continue;
            }

            if (ParseOperator(path, field, op.Name, op.Value, opPointer) is { } node)
            {
                items.Add(node);
            }
        }

        if (count == 0)
        {
            Error(pointer, "expected a value or an object with at least one operator");
        }
    }

    private FieldNode? ParseOperator(string path, BomEventField field, string name, JsonElement literal, string pointer)
    {
        if (!ConditionOperators.All.TryGetValue(name, out var op))
        {
            return Error(pointer, $"unknown operator '{name}'; expected one of {ConditionOperators.NameList}");
        }

        if (!op.AppliesTo.Contains(field.Type))
        {
            return NotApplicable(pointer, name, field.Type);
        }

        return op.CheckLiteral(this, literal, field.Type, pointer) ? new FieldNode(pointer, path, op, literal.Clone()) : null;
    }

    string IOperatorLiteralChecks.EventType => _eventType;

    bool IOperatorLiteralChecks.EventHasPreviousValues => _catalog.Get(_eventType) is not { SupportsPreviousValues: false };

    bool IOperatorLiteralChecks.Fail(string pointer, string message)
    {
        Error(pointer, message);
        return false;
    }

    bool IOperatorLiteralChecks.Value(JsonElement literal, BomFieldType type, string pointer, bool allowNull) => CheckLiteral(literal, type, pointer, allowNull);

    private bool CheckLiteral(JsonElement literal, BomFieldType type, string pointer, bool allowNull)
    {
        if (allowNull && literal.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        switch (type)
        {
            case BomFieldType.Number when literal.ValueKind == JsonValueKind.Number:
            case BomFieldType.String when literal.ValueKind == JsonValueKind.String:
            case BomFieldType.Boolean when literal.ValueKind is JsonValueKind.True or JsonValueKind.False:
                return true;
            case BomFieldType.StringArray when literal.ValueKind == JsonValueKind.Array:
                if (literal.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
                {
                    return true;
                }

                break;
            default:
                break;
        }

        Error(pointer, "expected " + Singular(type));
        return false;
    }

    private static bool IsFieldOperator(string name) => ConditionOperators.All.ContainsKey(name);

    private static string Singular(BomFieldType type) => type switch
    {
        BomFieldType.Number => "a number",
        BomFieldType.Boolean => "a boolean",
        BomFieldType.StringArray => "an array of strings",
        _ => "a string",
    };

    private FieldNode? NotApplicable(string pointer, string name, BomFieldType type) =>
        Error(pointer, $"'{name}' does not apply to {Singular(type)} field");

    private FieldNode? Error(string pointer, string message)
    {
        _errors.Add(new TriggerValidationError(pointer, message));
        return null;
    }
}
