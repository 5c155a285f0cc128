using System.Buffers;
using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Dermag.BomTriggers;

/// <summary>What an operator's literal check may ask of the parser: record errors, check values against the field type.</summary>
internal interface IOperatorLiteralChecks
{
    /// <summary>The event type the condition is for.</summary>
    string EventType { get; }

    /// <summary>Whether events of <see cref="EventType"/> carry previous values.</summary>
    bool EventHasPreviousValues { get; }

    /// <summary>Records an error at <paramref name="pointer"/>; always false.</summary>
    bool Fail(string pointer, string message);

    /// <summary>Checks that <paramref name="literal"/> is a value of <paramref name="type"/> (or null when allowed), recording an error otherwise.</summary>
    bool Value(JsonElement literal, BomFieldType type, string pointer, bool allowNull);
}

/// <summary>
/// One field operator: its name, the field types it applies to, how its literal is checked and what it compiles to. The
/// table below is the one place an operator is defined; the parser, the compiler, explanations and the operator
/// catalogue all read it.
/// </summary>
internal sealed record ConditionOperator(
    string Name,
    string Meaning,
    IReadOnlyList<BomFieldType> AppliesTo,
    Func<IOperatorLiteralChecks, JsonElement, BomFieldType, string, bool> CheckLiteral,
    Func<FieldPath, JsonElement, Func<EvaluationInput, bool>> Compile)
{
    /// <summary>True for an operator that compares the previous value with the current one ($changed).</summary>
    public bool ComparesPrevious { get; init; }
}

/// <summary>The field operators of the condition language.</summary>
internal static class ConditionOperators
{
    private static readonly BomFieldType[] AnyType = [BomFieldType.String, BomFieldType.Number, BomFieldType.Boolean, BomFieldType.StringArray];

    public static readonly ConditionOperator Eq = new(
        "$eq",
        "equals (null matches null or missing)",
        AnyType,
        (checks, literal, type, pointer) => checks.Value(literal, type, pointer, allowNull: true),
        (segments, literal) => CompileEquals(segments, literal, negate: false));

    public static readonly FrozenDictionary<string, ConditionOperator> All = new ConditionOperator[]
    {
        Eq,
        new(
            "$ne",
            "does not equal",
            AnyType,
            (checks, literal, type, pointer) => checks.Value(literal, type, pointer, allowNull: true),
            (segments, literal) => CompileEquals(segments, literal, negate: true)),
        Ordering("$gt", "is greater than", c => c > 0),
        Ordering("$gte", "is greater than or equal to", c => c >= 0),
        Ordering("$lt", "is less than", c => c < 0),
        Ordering("$lte", "is less than or equal to", c => c <= 0),
        new(
            "$in",
            "is one of",
            [BomFieldType.String, BomFieldType.Number, BomFieldType.Boolean],
            CheckArray,
            (segments, literal) =>
            {
                var options = literal.EnumerateArray().Select(e => e.Clone()).ToArray();
                return input => input.Current(segments) is { } v && options.Any(o => JsonValues.AreEqual(v, o));
            }),
        new(
            "$nin",
            "is none of (missing counts as none)",
            [BomFieldType.String, BomFieldType.Number, BomFieldType.Boolean],
            CheckArray,
            (segments, literal) =>
            {
                var options = literal.EnumerateArray().Select(e => e.Clone()).ToArray();
                return input => input.Current(segments) is not { } v || !options.Any(o => JsonValues.AreEqual(v, o));
            }),
        new(
            "$exists",
            "is present and not null (true) or absent or null (false)",
            AnyType,
            (checks, literal, _, pointer) => literal.ValueKind is JsonValueKind.True or JsonValueKind.False || checks.Fail(pointer, "expected a boolean"),
            (segments, literal) =>
            {
                var expected = literal.ValueKind == JsonValueKind.True;
                return input => (input.Current(segments) is { ValueKind: not JsonValueKind.Null }) == expected;
            }),
        new(
            "$contains",
            "contains the text (strings) or the item (string arrays), ordinal",
            [BomFieldType.String, BomFieldType.StringArray],
            CheckString,
            (segments, literal) =>
            {
                var needle = literal.GetString()!;
                return input => input.Current(segments) switch
                {
                    { ValueKind: JsonValueKind.String } s => s.GetString()!.Contains(needle, StringComparison.Ordinal),
                    { ValueKind: JsonValueKind.Array } a => a.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.String && e.ValueEquals(needle)),
                    _ => false,
                };
            }),
        new(
            "$startsWith",
            "starts with the text, ordinal",
            [BomFieldType.String],
            CheckString,
            (segments, literal) =>
            {
                var prefix = literal.GetString()!;
                return input => input.Current(segments) is { ValueKind: JsonValueKind.String } s && s.GetString()!.StartsWith(prefix, StringComparison.Ordinal);
            }),
        new(
            "$endsWith",
            "ends with the text, ordinal",
            [BomFieldType.String],
            CheckString,
            (segments, literal) =>
            {
                var suffix = literal.GetString()!;
                return input => input.Current(segments) is { ValueKind: JsonValueKind.String } s && s.GetString()!.EndsWith(suffix, StringComparison.Ordinal);
            }),
        new(
            "$changed",
            "differs from the previous value (true), optionally from and/or to given values",
            AnyType,
            CheckChanged,
            (segments, literal) =>
            {
                JsonElement? from = literal.ValueKind == JsonValueKind.Object && literal.TryGetProperty("from", out var f) ? f.Clone() : null;
                JsonElement? to = literal.ValueKind == JsonValueKind.Object && literal.TryGetProperty("to", out var t) ? t.Clone() : null;
                return input => HasChanged(input.Before(segments), input.Current(segments), from, to);
            })
        {
            ComparesPrevious = true,
        },
    }.ToFrozenDictionary(o => o.Name, StringComparer.Ordinal);

    /// <summary>The operator names in table order, for messages.</summary>
    public static readonly string NameList = string.Join(" ", All.Keys.Order(StringComparer.Ordinal));

    /// <summary>
    /// $eq (or $ne): a string literal is turned into UTF-8 once, so each evaluation compares the event's bytes with it
    /// (<see cref="JsonValues.AreEqual"/> would read the literal into a new string every time); other literals compare
    /// as values.
    /// </summary>
    private static Func<EvaluationInput, bool> CompileEquals(FieldPath segments, JsonElement literal, bool negate)
    {
        if (literal.ValueKind == JsonValueKind.String && Utf8Text(literal.GetString()!) is { } expected)
        {
            return negate
                ? input => !(input.Current(segments) is { ValueKind: JsonValueKind.String } actual && actual.ValueEquals(expected))
                : input => input.Current(segments) is { ValueKind: JsonValueKind.String } actual && actual.ValueEquals(expected);
        }

        return negate
            ? input => !EqualsLiteral(input.Current(segments), literal)
            : input => EqualsLiteral(input.Current(segments), literal);
    }

    /// <summary>The text as UTF-8, or null when it holds an unpaired surrogate (then it compares as before, through a string).</summary>
    private static byte[]? Utf8Text(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetMaxByteCount(text.Length)];
        return Utf8.FromUtf16(text, bytes, out _, out var written, replaceInvalidSequences: false) == OperationStatus.Done ? bytes[..written] : null;
    }

    internal static bool EqualsLiteral(JsonElement? actual, JsonElement literal) =>
        literal.ValueKind == JsonValueKind.Null
            ? actual is null or { ValueKind: JsonValueKind.Null }
            : actual is { } v && JsonValues.AreEqual(v, literal);

    private static ConditionOperator Ordering(string name, string meaning, Func<int, bool> accepts) => new(
        name,
        meaning + " (numbers exactly, strings ordinal; missing or null never matches)",
        [BomFieldType.Number, BomFieldType.String],
        (checks, literal, type, pointer) => checks.Value(literal, type, pointer, allowNull: false),
        (segments, literal) => input => input.Current(segments) is { } v && JsonValues.Compare(v, literal) is { } c && accepts(c));

    private static bool CheckString(IOperatorLiteralChecks checks, JsonElement literal, BomFieldType type, string pointer) =>
        literal.ValueKind == JsonValueKind.String || checks.Fail(pointer, "expected a string");

    private static bool CheckArray(IOperatorLiteralChecks checks, JsonElement literal, BomFieldType type, string pointer)
    {
        if (literal.ValueKind != JsonValueKind.Array)
        {
            return checks.Fail(pointer, "expected an array of " + Plural(type));
        }

        var ok = true;
        var index = 0;
        foreach (var item in literal.EnumerateArray())
        {
            ok &= checks.Value(item, type, pointer + "/" + index++, allowNull: false);
        }

        return ok;
    }

    private static bool CheckChanged(IOperatorLiteralChecks checks, JsonElement literal, BomFieldType type, string pointer)
    {
        if (!checks.EventHasPreviousValues)
        {
            return checks.Fail(pointer, $"'$changed' needs previous values, which {checks.EventType} does not carry; use it with {BomTriggerEvents.StatusChange} or {BomTriggerEvents.QuantityChange}");
        }

        if (literal.ValueKind == JsonValueKind.True)
        {
            return true;
        }

        if (literal.ValueKind != JsonValueKind.Object)
        {
            return checks.Fail(pointer, "expected true or an object with \"from\" and/or \"to\"");
        }

        var ok = true;
        foreach (var property in literal.EnumerateObject())
        {
            var propertyPointer = pointer + "/" + ConditionParser.Escape(property.Name);
            ok &= property.Name is "from" or "to"
                ? checks.Value(property.Value, type, propertyPointer, allowNull: true)
                : checks.Fail(propertyPointer, "unknown property; '$changed' takes \"from\" and \"to\"");
        }

        return ok;
    }

    private static bool HasChanged(JsonElement? before, JsonElement? after, JsonElement? from, JsonElement? to)
    {
        var changed = before is { } b && after is { } a ? !JsonValues.AreEqual(b, a) : before.HasValue != after.HasValue;
        if (!changed)
        {
            return false;
        }

        return (from is not { } f || EqualsLiteral(before, f)) && (to is not { } t || EqualsLiteral(after, t));
    }

    private static string Plural(BomFieldType type) => type switch
    {
        BomFieldType.Number => "numbers",
        BomFieldType.Boolean => "booleans",
        _ => "strings",
    };
}
