using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>
/// Checks the JSON and text a definition stores, so that every store accepts the same definitions and reads them back
/// with the same meaning: PostgreSQL rejects U+0000 and numbers beyond <c>numeric</c>; <c>jsonb</c> keeps only the last
/// of duplicate keys where the in-memory store keeps both; System.Text.Json cannot read an unpaired UTF-16 surrogate
/// as a string. Each problem is a validation error with a JSON Pointer, never an exception.
/// </summary>
internal static class StorableJson
{
    /// <summary>The deepest nesting checked (System.Text.Json's default reader limit), so a deep document cannot exhaust the stack.</summary>
    public const int MaxDepth = 64;

    /// <summary>Adds an error for each problem in <paramref name="element"/>; returns whether there was none.</summary>
    public static bool Check(JsonElement element, string pointer, List<TriggerValidationError> errors)
    {
        var before = errors.Count;
        Walk(element, pointer, 0, errors);
        return errors.Count == before;
    }

    /// <summary>Adds an error when a text property holds U+0000 or an unpaired surrogate.</summary>
    public static void CheckText(string? text, string pointer, List<TriggerValidationError> errors)
    {
        if (text is not null && JsonEscapes.FindProblem(text, out var problem, out var codeUnit) >= 0)
        {
            errors.Add(new(pointer, JsonEscapes.Describe(problem, codeUnit)));
        }
    }

    private static void Walk(JsonElement element, string pointer, int depth, List<TriggerValidationError> errors)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object when depth >= MaxDepth:
            case JsonValueKind.Array when depth >= MaxDepth:
                errors.Add(new(pointer, $"nests deeper than {MaxDepth} levels"));
                break;
            case JsonValueKind.Object:
                HashSet<string>? names = null;
                foreach (var property in element.EnumerateObject())
                {
                    var rawName = JsonMarshal.GetRawUtf8PropertyName(property);
                    if (JsonEscapes.FindProblem(rawName, nulIsProblem: true, out var problem, out var codeUnit) >= 0)
                    {
                        // The key cannot be read as a string; the pointer shows it as written.
                        errors.Add(new(pointer + "/" + ConditionParser.Escape(Encoding.UTF8.GetString(rawName)), "the key " + JsonEscapes.Describe(problem, codeUnit)));
                        continue;
                    }

                    var name = property.Name;
                    var child = pointer + "/" + ConditionParser.Escape(name);
                    names ??= new HashSet<string>(StringComparer.Ordinal);
                    if (!names.Add(name))
                    {
                        errors.Add(new(child, "duplicate key; a key may appear only once in an object"));
                    }

                    Walk(property.Value, child, depth + 1, errors);
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, pointer + "/" + index++, depth + 1, errors);
                }

                break;
            case JsonValueKind.String:
                if (JsonEscapes.FindProblem(JsonMarshal.GetRawUtf8Value(element), nulIsProblem: true, out var valueProblem, out var valueUnit) >= 0)
                {
                    errors.Add(new(pointer, JsonEscapes.Describe(valueProblem, valueUnit)));
                }

                break;
            case JsonValueKind.Number:
                if (!JsonNumber.FitsPostgresNumeric(JsonMarshal.GetRawUtf8Value(element)))
                {
                    errors.Add(new(pointer, JsonNumber.OutOfRangeMessage));
                }

                break;
            default:
                break;
        }
    }
}
