using System.Text.Json;

namespace Dermag.BomTriggers;

/// <summary>Small helpers the built-in actions use to validate and read <c>action_config</c>.</summary>
internal static class ConfigReader
{
    public static bool IsObject(JsonElement config, ActionConfigValidationContext context)
    {
        if (config.ValueKind == JsonValueKind.Object)
        {
            return true;
        }

        context.AddError(string.Empty, "expected an object");
        return false;
    }

    public static void RequireString(JsonElement config, string name, ActionConfigValidationContext context)
    {
        if (!config.TryGetProperty(name, out var value))
        {
            context.AddError(name, "is required");
        }
        else if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
        {
            context.AddError(name, "expected a non-empty string");
        }
    }

    public static void OptionalString(JsonElement config, string name, ActionConfigValidationContext context)
    {
        if (config.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            context.AddError(name, "expected a string");
        }
    }

    public static void CheckNumber(JsonElement config, string name, bool required, Func<decimal, bool> valid, string expectation, ActionConfigValidationContext context)
    {
        if (!config.TryGetProperty(name, out var value))
        {
            if (required)
            {
                context.AddError(name, "is required");
            }

            return;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var number) || !valid(number))
        {
            context.AddError(name, "expected " + expectation);
        }
    }

    public static void RejectUnknown(JsonElement config, IReadOnlyList<ActionConfigField> fields, ActionConfigValidationContext context)
    {
        foreach (var property in config.EnumerateObject())
        {
            if (!fields.Any(f => f.Name == property.Name))
            {
                context.AddError(ConditionsEscape(property.Name), $"unknown property; {context.ActionType} takes {(fields.Count == 0 ? "no properties" : string.Join(", ", fields.Select(f => f.Name)))}");
            }
        }
    }

    public static string String(JsonElement config, string name) => config.GetProperty(name).GetString()!;

    public static string? OptionalStringValue(JsonElement config, string name) =>
        config.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static decimal? Decimal(JsonElement config, string name) =>
        config.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDecimal() : null;

    private static string ConditionsEscape(string name) => ConditionParser.Escape(name);
}
