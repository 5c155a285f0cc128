using System.Text;
using System.Text.Json;
using Dermag.BomTriggers.Tests.TestSupport;

namespace Dermag.BomTriggers.Tests.Conditions;

public class RandomConditionTests
{
    private static readonly string[] Keys =
    [
        "taskTypeCode", "status", "quantity", "material.category", "tags", "taskId", "title", "unknown", "material",
        "$all", "$any", "$not", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$contains", "$startsWith", "$changed", "$bogus", "from", "to",
    ];

    [Fact]
    public void ThousandRandomConditions_AreEachValidOrRejectedWithAPath_NeverAnException()
    {
        var random = new Random(20251230);
        var valid = 0;
        var rejected = 0;
        for (var i = 0; i < 1000; i++)
        {
            var json = RandomValue(random, 0, forceObject: true);
            var eventType = BomTriggerEvents.All[random.Next(BomTriggerEvents.All.Count)];
            var errors = new List<TriggerValidationError>();
            CompiledCondition? compiled = null;

            var act = () => compiled = CompiledCondition.TryCompile(Json.Parse(json), eventType, EventCatalog.Default, errors);

            act.Should().NotThrow($"condition {json}");
            if (compiled is null)
            {
                rejected++;
                errors.Should().NotBeEmpty($"a rejected condition explains itself: {json}");
                errors.Should().OnlyContain(e => e.Path.StartsWith("/triggerCondition") && e.Message.Length > 0);
            }
            else
            {
                valid++;
                errors.Should().BeEmpty();
                var data = Json.Parse(RandomValue(random, 0, forceObject: true));
                var evaluate = () =>
                {
                    var input = new EvaluationInput(data, data, 1, 2);
                    var matches = compiled.Matches(input);
                    compiled.Explain(input).Matched.Should().Be(matches);

                    // The dispatch's one-walk form agrees, and names a failed clause exactly when it does not match.
                    compiled.Matches(input, out var failure).Should().Be(matches);
                    (failure is null).Should().Be(matches);
                    failure.Should().Be(compiled.FirstFailure(input));
                };
                evaluate.Should().NotThrow($"condition {json} on data {data}");
            }
        }

        valid.Should().BeGreaterThan(50, "the generator must produce valid conditions too");
        rejected.Should().BeGreaterThan(50);
    }

    private static string RandomValue(Random random, int depth, bool forceObject = false)
    {
        var kind = forceObject ? 0 : random.Next(depth > 3 ? 2 : 0, 9);
        switch (kind)
        {
            case 0:
            case 1:
            {
                var count = random.Next(0, 4);
                var sb = new StringBuilder("{");
                for (var i = 0; i < count; i++)
                {
                    sb.Append(i > 0 ? "," : string.Empty).Append(JsonSerializer.Serialize(Keys[random.Next(Keys.Length)] + (i > 0 && random.Next(8) == 0 ? i.ToString() : string.Empty)))
                        .Append(':').Append(RandomValue(random, depth + 1));
                }

                return sb.Append('}').ToString();
            }

            case 2:
            {
                var count = random.Next(0, 4);
                return "[" + string.Join(",", Enumerable.Range(0, count).Select(_ => RandomValue(random, depth + 1))) + "]";
            }

            case 3:
                return random.Next(3) switch { 0 => "100", 1 => "-2.5", _ => "1e400" };
            case 4:
            case 5:
                return JsonSerializer.Serialize(random.Next(4) switch { 0 => "LAN", 1 => "completed", 2 => "network", _ => "" });
            case 6:
                return random.Next(2) == 0 ? "true" : "false";
            case 7:
                return "null";
            default:
                return "{\"" + Keys[random.Next(9)] + "\":{\"" + Keys[random.Next(11, 24)] + "\":" + RandomValue(random, depth + 1) + "}}";
        }
    }
}
