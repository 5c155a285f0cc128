using System.Text.Json;
using System.Text.Json.Nodes;
using Dermag.BomTriggers;
using Dermag.Reliability.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.Reliability.Tests.BomTriggers;

/// <summary>
/// 1,000 generated trigger definitions (seeded, so a failure reproduces): each one is either stored or rejected with
/// every error carrying a JSON Pointer that points into the submitted definition; nothing throws, nothing invalid is stored.
/// </summary>
public sealed class GeneratedDefinitionTests(ITestOutputHelper output)
{
    private static readonly string[] TopLevel = ["/name", "/triggerEvent", "/triggerCondition", "/actionType", "/actionConfig", "/sourceTaskTypeId", "/targetTaskTypeId", "/createdBy", "/priority", "/description"];

    [Fact]
    public async Task Generated_definitions_are_stored_or_rejected_with_pointers_into_the_definition()
    {
        // Every save refreshes the engine's snapshot, so the cost grows with the stored count: 10,000 is heavy enough.
        var count = Scale.Pick(1_000, 10_000);
        await using var provider = await BomHost.StartAsync(b => b.UseInMemoryStore());
        var store = provider.GetRequiredService<IBomTriggerManager>();
        var generator = new DefinitionGenerator(new Random(20261128));
        int stored = 0, rejected = 0, errorCount = 0;
        var failures = new List<string>();

        for (var i = 0; i < count; i++)
        {
            var (definition, conditionNode, configNode) = generator.Next();
            TriggerSaveResult result;
            try
            {
                result = await store.CreateAsync(definition);
            }
            catch (Exception ex)
            {
                failures.Add($"#{i} threw {ex.GetType().Name}: {ex.Message} for {Describe(definition)}");
                continue;
            }

            if (result.Succeeded)
            {
                stored++;
                result.Errors.Should().BeEmpty();
                continue;
            }

            rejected++;
            errorCount += result.Errors.Count;
            if (result.Errors.Count == 0)
            {
                failures.Add($"#{i} rejected without errors: {Describe(definition)}");
            }

            foreach (var error in result.Errors)
            {
                if (string.IsNullOrWhiteSpace(error.Message) || !PointsInto(error.Path, conditionNode, configNode))
                {
                    failures.Add($"#{i} error '{error}' does not point into the definition {Describe(definition)}");
                }
            }

            // Validation alone gives the same answer as a save.
            store.Validate(definition).Select(e => e.ToString()).Should().Equal(result.Errors.Select(e => e.ToString()));
        }

        failures.Should().BeEmpty(string.Join(Environment.NewLine, failures.Take(10)));
        (await store.ListAsync()).Should().HaveCount(stored, "only valid definitions are stored");
        stored.Should().BeGreaterThan(count / 10, "the generator must produce valid definitions too");
        rejected.Should().BeGreaterThan(count / 10, "the generator must produce invalid definitions too");
        Figures.Report(output, $"generated definitions: {count}, stored {stored}, rejected {rejected} with {errorCount} errors, all with pointers");
    }

    /// <summary>The pointer's top-level member is a definition property, and inside the JSON members every parent exists.</summary>
    private static bool PointsInto(string path, JsonNode? condition, JsonNode? config)
    {
        var top = TopLevel.FirstOrDefault(t => path == t || path.StartsWith(t + "/", StringComparison.Ordinal));
        if (top is null)
        {
            return false;
        }

        if (top is not ("/triggerCondition" or "/actionConfig") || path == top)
        {
            return true;
        }

        var segments = path[(top.Length + 1)..].Split('/').Select(s => s.Replace("~1", "/").Replace("~0", "~")).ToArray();
        var node = top == "/triggerCondition" ? condition : config;

        // The last segment may name a missing member ("is required"); every parent must exist.
        for (var i = 0; i < segments.Length - 1; i++)
        {
            node = node switch
            {
                JsonObject o when o.TryGetPropertyValue(segments[i], out var child) => child,
                JsonArray a when int.TryParse(segments[i], out var index) && index >= 0 && index < a.Count => a[index],
                _ => null,
            };
            if (node is null)
            {
                return false;
            }
        }

        return node is JsonObject or JsonArray;
    }

    private static string Describe(BomTriggerDefinition d) =>
        $"{{name:{Trim(d.Name)}, event:{d.TriggerEvent}, condition:{d.TriggerCondition?.GetRawText()}, action:{d.ActionType}, config:{d.ActionConfig?.GetRawText()}, source:{d.SourceTaskTypeId}, target:{d.TargetTaskTypeId}, createdBy:{d.CreatedBy}}}";

    private static string Trim(string s) => s.Length > 40 ? s[..40] + "..." : s;

    /// <summary>Produces mostly plausible definitions with one or more deliberate faults about half of the time.</summary>
    private sealed class DefinitionGenerator(Random random)
    {
        private static readonly string[] StringFields = ["taskTypeCode", "taskNumber", "title", "status"];
        private static readonly string[] NumberFields = ["taskId", "taskTypeId"];
        private static readonly string[] MaterialStringFields = ["materialName", "unit", "material.name", "material.category", "material.unit"];
        private static readonly string[] MaterialNumberFields = ["quantity", "material.unitPrice"];
        private static readonly string[] Operators = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$contains", "$startsWith", "$changed", "$regex", "$like", "eq", "$"];

        public (BomTriggerDefinition Definition, JsonNode? Condition, JsonNode? Config) Next()
        {
            var faulty = random.Next(2) == 0;
            var eventType = faulty && Chance(0.15) ? Pick("", " ", "ON_TASK_DELETE", "on_task_create", "ON_TASK_CREATE ", "'; DROP TABLE bom_triggers; --") : Pick(BomTriggerEvents.All.ToArray());
            var condition = faulty && Chance(0.1) ? RandomValue(0) : Condition(eventType, faulty, 0);
            var (actionType, config) = Action(faulty);
            var definition = new BomTriggerDefinition
            {
                Name = faulty && Chance(0.15) ? Pick("", "   ", new string('n', 201)) : "generated " + random.Next(1_000_000),
                Description = Chance(0.3) ? null : "described " + random.Next(),
                TriggerEvent = eventType,
                TriggerCondition = Chance(0.05) ? null : ToElement(condition),
                ActionType = actionType,
                ActionConfig = Chance(0.05) ? null : ToElement(config),
                SourceTaskTypeId = Chance(0.5) ? null : faulty && Chance(0.2) ? random.Next(-3, 1) : random.Next(1, 100),
                TargetTaskTypeId = Chance(0.5) ? null : faulty && Chance(0.2) ? random.Next(-3, 1) : random.Next(1, 100),
                Priority = random.Next(-5, 100),
                CreatedBy = Chance(0.5) ? null : faulty && Chance(0.2) ? 0 : random.Next(1, 10),
            };
            // A missing (or JSON null) condition or config means {} (documented), so pointers into it resolve against an empty object.
            return (
                definition,
                definition.TriggerCondition is null ? new JsonObject() : condition ?? new JsonObject(),
                definition.ActionConfig is null ? new JsonObject() : config ?? new JsonObject());
        }

        private JsonNode? Condition(string eventType, bool faulty, int depth)
        {
            var result = new JsonObject();
            var clauses = random.Next(0, depth == 0 ? 4 : 3);
            var material = eventType is BomTriggerEvents.MaterialAdd or BomTriggerEvents.QuantityChange;
            for (var i = 0; i < clauses; i++)
            {
                var roll = random.Next(10);
                if (roll == 0 && depth < 3)
                {
                    var items = new JsonArray();
                    for (var j = random.Next(faulty && Chance(0.2) ? 0 : 1, 3); j > 0; j--)
                    {
                        items.Add(Condition(eventType, faulty, depth + 1));
                    }

                    result[Pick("$any", "$all")] = faulty && Chance(0.2) ? Condition(eventType, faulty, depth + 1) : items;
                }
                else if (roll == 1 && depth < 3)
                {
                    result["$not"] = faulty && Chance(0.2) ? new JsonArray() : Condition(eventType, faulty, depth + 1);
                }
                else
                {
                    var numeric = Chance(0.3);
                    var fields = numeric ? (material ? [.. NumberFields, .. MaterialNumberFields] : NumberFields) : (material ? [.. StringFields, .. MaterialStringFields] : StringFields);
                    var field = faulty && Chance(0.1) ? Pick("unknownField", "material.colour", "status.", "", "a/b~c") : Pick(fields);
                    result[field] = Chance(0.5) ? Literal(numeric, faulty) : OperatorClause(numeric, faulty);
                }
            }

            return result;
        }

        private JsonNode OperatorClause(bool numeric, bool faulty)
        {
            var op = faulty && Chance(0.2) ? Pick(Operators) : numeric ? Pick("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists") : Pick("$eq", "$ne", "$in", "$nin", "$exists", "$startsWith", "$contains");
            JsonNode? value = op switch
            {
                "$in" or "$nin" => faulty && Chance(0.3) ? Literal(numeric, faulty) : new JsonArray(Literal(numeric, faulty), Literal(numeric, faulty)),
                "$exists" => faulty && Chance(0.3) ? JsonValue.Create("yes") : JsonValue.Create(Chance(0.5)),
                "$changed" => faulty && Chance(0.3) ? JsonValue.Create(1) : new JsonObject { ["from"] = Literal(numeric, false), ["to"] = Literal(numeric, false) },
                _ => Literal(numeric, faulty),
            };
            return new JsonObject { [op] = value };
        }

        private JsonNode? Literal(bool numeric, bool faulty)
        {
            if (faulty && Chance(0.15))
            {
                return RandomValue(2);
            }

            return numeric ? JsonValue.Create(random.Next(-1000, 1000) / (Chance(0.5) ? 1 : 10.0)) : JsonValue.Create(Pick("LAN", "completed", "in_progress", "network", "x' OR '1'='1", ""));
        }

        private JsonNode? RandomValue(int depth) => random.Next(depth > 2 ? 4 : 6) switch
        {
            0 => null,
            1 => JsonValue.Create(random.Next()),
            2 => JsonValue.Create("text"),
            3 => JsonValue.Create(Chance(0.5)),
            4 => new JsonArray(RandomValue(depth + 1), RandomValue(depth + 1)),
            _ => new JsonObject { ["k" + random.Next(3)] = RandomValue(depth + 1) },
        };

        private (string ActionType, JsonNode? Config) Action(bool faulty)
        {
            if (faulty && Chance(0.15))
            {
                return (Pick("", "add_material", "DELETE_EVERYTHING", "A-B", new string('A', 51)), new JsonObject());
            }

            var type = Pick(BomTriggerActions.AddMaterial, BomTriggerActions.UpdateQuantity, BomTriggerActions.CopyBom, BomTriggerActions.Notify, BomTriggerActions.CalculateCost, RecordingAction.Type);
            JsonObject config = type switch
            {
                BomTriggerActions.AddMaterial => new JsonObject { ["materialName"] = "Kabel UTP Cat6", ["defaultQuantity"] = 100, ["unit"] = "m", ["category"] = "network" },
                BomTriggerActions.UpdateQuantity => new JsonObject { ["materialName"] = "Kabel", [Pick("quantity", "delta")] = 5 },
                BomTriggerActions.CopyBom => new JsonObject { ["fromTaskTypeId"] = 3, ["replaceExisting"] = false },
                BomTriggerActions.Notify => new JsonObject { ["message"] = "done", ["recipients"] = new JsonArray("manager", "coordinator") },
                RecordingAction.Type => new JsonObject { ["version"] = 1 },
                _ => [],
            };
            if (faulty && Chance(0.5) && config.Count > 0)
            {
                var victim = config.ElementAt(random.Next(config.Count)).Key;
                switch (random.Next(4))
                {
                    case 0:
                        config.Remove(victim);
                        break;
                    case 1:
                        config[victim] = RandomValue(1);
                        break;
                    case 2:
                        config["unexpected"] = 1;
                        break;
                    default:
                        if (config["recipients"] is JsonArray recipients)
                        {
                            recipients.Add(Chance(0.5) ? "" : 42);
                        }
                        else
                        {
                            config[victim] = new JsonArray();
                        }

                        break;
                }
            }

            return (type, faulty && Chance(0.05) ? RandomValue(0) : config);
        }

        private static JsonElement ToElement(JsonNode? node) => Json.Parse(node?.ToJsonString() ?? "null");

        private bool Chance(double p) => random.NextDouble() < p;

        private T Pick<T>(params T[] items) => items[random.Next(items.Length)];
    }
}
