using Dermag.BomTriggers;
using System.Text.Json;

namespace Dermag.SampleHost.Triggers;

/// <summary>
/// Reads a trigger definition from a JSON body, reporting wrong JSON types with their JSON Pointer path instead of a
/// generic 400. Accepts the original's snake_case names (<c>trigger_event</c>) as well as camelCase.
/// </summary>
internal static class TriggerJson
{
    public static (BomTriggerDefinition Definition, List<TriggerValidationError> Errors) Read(JsonElement body, BomTriggerDefinition start, string basePath = "")
    {
        var errors = new List<TriggerValidationError>();
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new TriggerValidationError(basePath.Length == 0 ? string.Empty : basePath, "expected a JSON object"));
            return (start, errors);
        }

        var d = start;
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            var path = basePath + "/" + property.Name;
            switch (Normalize(property.Name))
            {
                case "name":
                    d = String(value, path, errors, required: true) is { } name ? d with { Name = name } : d;
                    break;
                case "description":
                    d = d with { Description = String(value, path, errors, required: false) };
                    break;
                case "triggerevent":
                    d = String(value, path, errors, required: true) is { } ev ? d with { TriggerEvent = ev } : d;
                    break;
                case "actiontype":
                    d = String(value, path, errors, required: true) is { } action ? d with { ActionType = action } : d;
                    break;
                case "triggercondition":
                    d = d with { TriggerCondition = value.ValueKind == JsonValueKind.Null ? null : value.Clone() };
                    break;
                case "actionconfig":
                    d = d with { ActionConfig = value.ValueKind == JsonValueKind.Null ? null : value.Clone() };
                    break;
                case "sourcetasktypeid":
                    d = d with { SourceTaskTypeId = Int(value, path, errors) };
                    break;
                case "targettasktypeid":
                    d = d with { TargetTaskTypeId = Int(value, path, errors) };
                    break;
                case "priority":
                    d = Int(value, path, errors) is { } priority ? d with { Priority = priority } : d;
                    break;
                case "isactive":
                    if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                    {
                        d = d with { IsActive = value.GetBoolean() };
                    }
                    else
                    {
                        errors.Add(new TriggerValidationError(path, "expected true or false"));
                    }

                    break;
                case "id" or "uuid" or "createdat" or "updatedat" or "createdby":
                    break; // Read-only properties of a stored trigger; sending one back is harmless.
                default:
                    errors.Add(new TriggerValidationError(path, "unknown property"));
                    break;
            }
        }

        return (d, errors);
    }

    public static bool TryReadTestRequest(JsonElement body, out TriggerTestRequest request, out List<TriggerValidationError> errors)
    {
        errors = [];
        request = new TriggerTestRequest(default);
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("testData", out var testData))
        {
            errors.Add(new TriggerValidationError("/testData", "is required (a JSON object with the event data)"));
            return false;
        }

        if (testData.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new TriggerValidationError("/testData", "expected a JSON object"));
            return false;
        }

        request = new TriggerTestRequest(testData.Clone())
        {
            PreviousValues = body.TryGetProperty("previousValues", out var previous) && previous.ValueKind == JsonValueKind.Object ? previous.Clone() : null,
            TaskId = body.TryGetProperty("taskId", out var taskId) && taskId.TryGetInt32(out var t) ? t : 0,
            TaskTypeId = body.TryGetProperty("taskTypeId", out var typeId) && typeId.TryGetInt32(out var tt) ? tt : null,
        };
        return true;
    }

    private static string Normalize(string name) => name.Replace("_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    private static string? String(JsonElement value, string path, List<TriggerValidationError> errors, bool required)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString();
        }

        if (value.ValueKind != JsonValueKind.Null || required)
        {
            errors.Add(new TriggerValidationError(path, "expected a string"));
        }

        return null;
    }

    private static int? Int(JsonElement value, string path, List<TriggerValidationError> errors)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number))
        {
            return number;
        }

        errors.Add(new TriggerValidationError(path, "expected an integer"));
        return null;
    }
}
