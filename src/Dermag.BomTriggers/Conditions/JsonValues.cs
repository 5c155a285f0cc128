using System.Runtime.InteropServices;
using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>Value semantics for JSON scalars and arrays: numbers compare exactly by value, strings ordinally.</summary>
internal static class JsonValues
{
    public static bool AreEqual(JsonElement a, JsonElement b)
    {
        switch (a.ValueKind)
        {
            case JsonValueKind.Number when b.ValueKind == JsonValueKind.Number:
                return CompareNumbers(a, b) == 0;
            case JsonValueKind.String when b.ValueKind == JsonValueKind.String:
                return a.ValueEquals(b.GetString());
            case JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null:
                return a.ValueKind == b.ValueKind;
            case JsonValueKind.Array when b.ValueKind == JsonValueKind.Array:
                if (a.GetArrayLength() != b.GetArrayLength())
                {
                    return false;
                }

                using (var left = a.EnumerateArray())
                using (var right = b.EnumerateArray())
                {
                    while (left.MoveNext() && right.MoveNext())
                    {
                        if (!AreEqual(left.Current, right.Current))
                        {
                            return false;
                        }
                    }
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>Orders two numbers or two strings; null when they cannot be ordered.</summary>
    public static int? Compare(JsonElement a, JsonElement b) => (a.ValueKind, b.ValueKind) switch
    {
        (JsonValueKind.Number, JsonValueKind.Number) => CompareNumbers(a, b),
        (JsonValueKind.String, JsonValueKind.String) => Math.Sign(string.CompareOrdinal(a.GetString(), b.GetString())),
        _ => null,
    };

    public static string Describe(JsonElement? value) => value is { } v ? v.GetRawText() : "missing";

    // Exact for every JSON number, read from the document's own UTF-8 text: no decimal rounding, no double overflow, no allocation.
    private static int CompareNumbers(JsonElement a, JsonElement b) =>
        JsonNumber.Compare(JsonMarshal.GetRawUtf8Value(a), JsonMarshal.GetRawUtf8Value(b));
}
