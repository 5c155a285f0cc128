using Dermag.BomTriggers.Tests.TestSupport;

namespace Dermag.BomTriggers.Tests.Conditions;

public class ConditionCaseTests
{
    private const string TC = BomTriggerEvents.TaskCreate;
    private const string SC = BomTriggerEvents.StatusChange;
    private const string MA = BomTriggerEvents.MaterialAdd;
    private const string QC = BomTriggerEvents.QuantityChange;
    private const string BU = BomTriggerEvents.BomUpdate;

    private const string Lan = """{"taskTypeCode":"LAN","status":"created","title":"Office LAN","tags":["urgent","network"]}""";
    private const string Cable = """{"taskTypeCode":"LAN","materialName":"Kabel UTP Cat6","quantity":100,"unit":"m","material":{"name":"Kabel UTP Cat6","category":"network","unitPrice":2.5}}""";

    // event, condition, data, previous values, expected: "true" | "false" | "error <path>: <message start>"
    public static TheoryData<string, string, string, string?, string> Cases => new()
    {
        // The original's plain objects keep their meaning.
        { TC, "{}", Lan, null, "true" },
        { TC, """{"taskTypeCode":"LAN"}""", Lan, null, "true" },
        { TC, """{"taskTypeCode":"LAN"}""", """{"taskTypeCode":"CCTV"}""", null, "false" },
        { SC, """{"status":"completed"}""", """{"status":"completed"}""", null, "true" },
        { SC, """{"status":"completed"}""", """{"status":"in_progress"}""", null, "false" },
        { MA, "{}", Cable, null, "true" },
        { TC, """{"taskTypeCode":"LAN","status":"created"}""", Lan, null, "true" },
        { TC, """{"taskTypeCode":"LAN","status":"completed"}""", Lan, null, "false" },
        { TC, """{"taskTypeCode":"lan"}""", Lan, null, "false" },
        { TC, "{}", "{}", null, "true" },

        // Dotted paths.
        { MA, """{"material.category":"network"}""", Cable, null, "true" },
        { MA, """{"material.category":"power"}""", Cable, null, "false" },
        { MA, """{"material.category":"network"}""", """{"material":"flat string"}""", null, "false" },
        { MA, """{"material.unitPrice":{"$gt":2}}""", Cable, null, "true" },

        // $eq / $ne
        { MA, """{"quantity":{"$eq":100}}""", Cable, null, "true" },
        { MA, """{"quantity":{"$eq":100.0}}""", Cable, null, "true" },
        { MA, """{"quantity":{"$ne":100}}""", Cable, null, "false" },
        { MA, """{"quantity":{"$ne":5}}""", Cable, null, "true" },
        { MA, """{"unit":{"$eq":null}}""", """{"quantity":1}""", null, "true" },
        { MA, """{"unit":{"$ne":null}}""", Cable, null, "true" },
        { TC, """{"tags":{"$eq":["urgent","network"]}}""", Lan, null, "true" },

        // Ordering.
        { MA, """{"quantity":{"$gt":50}}""", Cable, null, "true" },
        { MA, """{"quantity":{"$gt":100}}""", Cable, null, "false" },
        { MA, """{"quantity":{"$gte":100}}""", Cable, null, "true" },
        { MA, """{"quantity":{"$lt":100}}""", Cable, null, "false" },
        { MA, """{"quantity":{"$lte":100}}""", Cable, null, "true" },
        { MA, """{"quantity":{"$gt":10,"$lt":200}}""", Cable, null, "true" },
        { MA, """{"quantity":{"$gt":10,"$lt":20}}""", Cable, null, "false" },
        { TC, """{"title":{"$gt":"A"}}""", Lan, null, "true" },
        { MA, """{"quantity":{"$gt":1}}""", """{"quantity":"100"}""", null, "false" },
        { MA, """{"quantity":{"$lt":1}}""", """{"quantity":-1e400}""", null, "true" },

        // Numbers compare exactly, at any size: no rounding to decimal's 28 places, nothing out of decimal's range.
        { MA, """{"quantity":0}""", """{"quantity":1e-30}""", null, "false" },
        { MA, """{"quantity":{"$gt":0}}""", """{"quantity":5e-29}""", null, "true" },
        { MA, """{"quantity":{"$lte":0}}""", """{"quantity":5e-29}""", null, "false" },
        { MA, """{"quantity":{"$lt":0.30000000000000000000000000001}}""", """{"quantity":0.3}""", null, "true" },
        { MA, """{"quantity":0.3}""", """{"quantity":0.30000000000000000000000000001}""", null, "false" },
        { MA, """{"quantity":{"$gt":1e29}}""", """{"quantity":1""" + new string('0', 28) + """1}""", null, "true" },
        { MA, """{"quantity":{"$gt":1e29}}""", """{"quantity":100000000000000000000000000000.0}""", null, "false" },
        { MA, """{"quantity":12345678901234567890123456789012345}""", """{"quantity":1.2345678901234567890123456789012345e34}""", null, "true" },
        { MA, """{"quantity":12345678901234567890123456789012345}""", """{"quantity":12345678901234567890123456789012346}""", null, "false" },
        { MA, """{"quantity":9007199254740993}""", """{"quantity":9007199254740992}""", null, "false" },
        { MA, """{"quantity":{"$gt":1e400}}""", """{"quantity":1.1e400}""", null, "true" },
        { MA, """{"quantity":{"$lt":-1e400}}""", """{"quantity":-1e99999999999999999999}""", null, "true" },
        { MA, """{"quantity":{"$gt":0}}""", """{"quantity":1e-99999999999999999999}""", null, "true" },
        { MA, """{"quantity":{"$gt":1e-30}}""", """{"quantity":1e-99999999999999999999}""", null, "false" },
        { MA, """{"quantity":{"$in":[1e-30,2]}}""", """{"quantity":0}""", null, "false" },
        { MA, """{"quantity":{"$in":[1e-30,2]}}""", """{"quantity":0.000000000000000000000000000001}""", null, "true" },
        { QC, """{"quantity":{"$changed":true}}""", """{"quantity":1e-30}""", """{"quantity":0}""", "true" },
        { MA, """{"quantity":1}""", """{"quantity":1.0}""", null, "true" },
        { MA, """{"quantity":1}""", """{"quantity":1e0}""", null, "true" },
        { MA, """{"quantity":1}""", """{"quantity":0.1E+1}""", null, "true" },
        { MA, """{"quantity":1.0}""", """{"quantity":100e-2}""", null, "true" },
        { MA, """{"quantity":0}""", """{"quantity":-0.0e5}""", null, "true" },
        { MA, """{"quantity":{"$lt":0}}""", """{"quantity":-1e-30}""", null, "true" },
        { MA, """{"quantity":{"$gt":-2}}""", """{"quantity":-1.99999999999999999999999999999}""", null, "true" },

        // $in / $nin
        { TC, """{"taskTypeCode":{"$in":["LAN","WLAN"]}}""", Lan, null, "true" },
        { TC, """{"taskTypeCode":{"$in":["CCTV"]}}""", Lan, null, "false" },
        { TC, """{"taskTypeCode":{"$nin":["CCTV"]}}""", Lan, null, "true" },
        { TC, """{"taskTypeCode":{"$nin":["LAN"]}}""", Lan, null, "false" },
        { MA, """{"quantity":{"$in":[1,100]}}""", Cable, null, "true" },

        // $exists
        { TC, """{"title":{"$exists":true}}""", Lan, null, "true" },
        { TC, """{"taskNumber":{"$exists":true}}""", Lan, null, "false" },
        { TC, """{"taskNumber":{"$exists":false}}""", Lan, null, "true" },
        { TC, """{"taskNumber":{"$exists":false}}""", """{"taskNumber":null}""", null, "true" },

        // $contains / $startsWith
        { TC, """{"title":{"$contains":"LAN"}}""", Lan, null, "true" },
        { TC, """{"title":{"$contains":"WAN"}}""", Lan, null, "false" },
        { TC, """{"tags":{"$contains":"urgent"}}""", Lan, null, "true" },
        { TC, """{"tags":{"$contains":"urg"}}""", Lan, null, "false" },
        { MA, """{"materialName":{"$startsWith":"Kabel"}}""", Cable, null, "true" },
        { MA, """{"materialName":{"$startsWith":"kabel"}}""", Cable, null, "false" },
        { MA, """{"materialName":{"$endsWith":"Cat6"}}""", Cable, null, "true" },
        { MA, """{"materialName":{"$endsWith":"cat6"}}""", Cable, null, "false" },
        { MA, """{"materialName":{"$endsWith":6}}""", Cable, null, "error /triggerCondition/materialName/$endsWith: expected a string" },

        // $changed against previous values.
        { SC, """{"status":{"$changed":{"from":"in_progress","to":"completed"}}}""", """{"status":"completed"}""", """{"status":"in_progress"}""", "true" },
        { SC, """{"status":{"$changed":{"from":"new","to":"completed"}}}""", """{"status":"completed"}""", """{"status":"in_progress"}""", "false" },
        { SC, """{"status":{"$changed":{"to":"completed"}}}""", """{"status":"completed"}""", """{"status":"completed"}""", "false" },
        { SC, """{"status":{"$changed":true}}""", """{"status":"completed"}""", """{"status":"new"}""", "true" },
        { SC, """{"status":{"$changed":true}}""", """{"status":"completed"}""", null, "true" },
        { QC, """{"quantity":{"$changed":{"from":100}}}""", """{"quantity":150}""", """{"quantity":100}""", "true" },
        { QC, """{"quantity":{"$changed":true}}""", """{"quantity":100}""", """{"quantity":100.0}""", "false" },

        // Combinators.
        { TC, """{"$all":[{"taskTypeCode":"LAN"},{"status":"created"}]}""", Lan, null, "true" },
        { TC, """{"$all":[{"taskTypeCode":"LAN"},{"status":"done"}]}""", Lan, null, "false" },
        { TC, """{"$any":[{"taskTypeCode":"CCTV"},{"status":"created"}]}""", Lan, null, "true" },
        { TC, """{"$any":[{"taskTypeCode":"CCTV"},{"status":"done"}]}""", Lan, null, "false" },
        { TC, """{"$not":{"taskTypeCode":"CCTV"}}""", Lan, null, "true" },
        { TC, """{"$not":{"taskTypeCode":"LAN"}}""", Lan, null, "false" },
        { TC, """{"$any":[]}""", Lan, null, "false" },
        { TC, """{"$all":[]}""", Lan, null, "true" },
        { TC, """{"$not":{"$any":[{"tags":{"$contains":"urgent"}},{"title":{"$startsWith":"X"}}]}}""", Lan, null, "false" },

        // Ids come from the event when the data omits them.
        { TC, """{"taskId":7}""", "{}", null, "true" },
        { TC, """{"taskTypeId":{"$in":[3,4]}}""", "{}", null, "true" },

        // ... and into the previous values alike, so an id absent from both is not a change.
        { SC, """{"taskId":{"$changed":true}}""", """{"status":"completed"}""", """{"status":"new"}""", "false" },
        { SC, """{"taskTypeId":{"$changed":true}}""", """{"status":"completed"}""", """{"status":"new"}""", "false" },
        { SC, """{"taskId":{"$changed":true}}""", """{"status":"completed"}""", null, "false" },
        { SC, """{"taskId":{"$changed":true}}""", """{"taskId":7}""", """{"status":"new"}""", "false" },
        { SC, """{"taskId":{"$changed":{"from":6,"to":7}}}""", """{"status":"completed"}""", """{"taskId":6}""", "true" },
        { SC, """{"taskId":{"$changed":true}}""", """{"taskId":8}""", """{"status":"new"}""", "true" },

        // Type errors and unknown names are save-time errors with a JSON Pointer.
        { MA, """{"quantity":{"$gt":"5"}}""", Cable, null, "error /triggerCondition/quantity/$gt: expected a number" },
        { MA, """{"quantity":"100"}""", Cable, null, "error /triggerCondition/quantity: expected a number" },
        { TC, """{"taskTypeCode":5}""", Lan, null, "error /triggerCondition/taskTypeCode: expected a string" },
        { TC, """{"taskTypeCode":{"$in":["LAN",5]}}""", Lan, null, "error /triggerCondition/taskTypeCode/$in/1: expected a string" },
        { TC, """{"taskTypeCode":{"$in":"LAN"}}""", Lan, null, "error /triggerCondition/taskTypeCode/$in: expected an array of strings" },
        { MA, """{"quantity":{"$contains":"1"}}""", Cable, null, "error /triggerCondition/quantity/$contains: '$contains' does not apply to a number field" },
        { TC, """{"tags":{"$startsWith":"u"}}""", Lan, null, "error /triggerCondition/tags/$startsWith: '$startsWith' does not apply" },
        { TC, """{"tags":{"$endsWith":"t"}}""", Lan, null, "error /triggerCondition/tags/$endsWith: '$endsWith' does not apply" },
        { TC, """{"title":{"$exists":"yes"}}""", Lan, null, "error /triggerCondition/title/$exists: expected a boolean" },
        { TC, """{"title":{"$regex":"x"}}""", Lan, null, "error /triggerCondition/title/$regex: unknown operator '$regex'" },
        { TC, """{"$or":[]}""", Lan, null, "error /triggerCondition/$or: unknown operator '$or'" },
        { TC, """{"$eq":1}""", Lan, null, "error /triggerCondition/$eq: '$eq' applies to a field" },
        { TC, """{"customer":"ACME"}""", Lan, null, "error /triggerCondition/customer: unknown field 'customer' for ON_TASK_CREATE" },
        { TC, """{"materialName":"x"}""", Lan, null, "error /triggerCondition/materialName: unknown field" },
        { TC, """{"status":{"$changed":true}}""", Lan, null, "error /triggerCondition/status/$changed: '$changed' needs previous values" },
        { SC, """{"status":{"$changed":{"since":"x"}}}""", Lan, null, "error /triggerCondition/status/$changed/since: unknown property" },
        { SC, """{"status":{"$changed":{"from":1}}}""", Lan, null, "error /triggerCondition/status/$changed/from: expected a string" },
        { MA, """{"material":{"category":"network"}}""", Cable, null, "error /triggerCondition/material: unknown field 'material'" },
        { MA, """{"quantity":{}}""", Cable, null, "error /triggerCondition/quantity: expected a value or an object with at least one operator" },
        { TC, """{"$all":{"status":"x"}}""", Lan, null, "error /triggerCondition/$all: expected an array of conditions" },
        { TC, """{"$any":[{"status":1}]}""", Lan, null, "error /triggerCondition/$any/0/status: expected a string" },
        { TC, """{"$not":[]}""", Lan, null, "error /triggerCondition/$not: expected an object" },
        { TC, "[]", Lan, null, "error /triggerCondition: expected an object" },
        { MA, """{"quantity":{"$gt":1e400}}""", Cable, null, "false" },
        { MA, """{"quantity":{"$gt":1e200000}}""", Cable, null, "error /triggerCondition/quantity/$gt: number out of range" },
        { MA, """{"quantity":{"$lt":1e-16384}}""", Cable, null, "error /triggerCondition/quantity/$lt: number out of range" },
        { TC, """{"tags":{"$in":["a"]}}""", Lan, null, "error /triggerCondition/tags/$in: '$in' does not apply" },
        { BU, """{"itemCount":{"$gte":"3"}}""", "{}", null, "error /triggerCondition/itemCount/$gte: expected a number" },
        { BU, """{"totalCost":{"$lt":1000},"itemCount":{"$gt":0}}""", """{"totalCost":10,"itemCount":2}""", null, "true" },

        // The semantics table of the README, row by row: missing, null, another type, arrays, ordering.
        { MA, """{"unit":"m"}""", """{"quantity":1}""", null, "false" },
        { MA, """{"unit":"m"}""", """{"unit":null}""", null, "false" },
        { MA, """{"quantity":100}""", """{"quantity":"100"}""", null, "false" },
        { SC, """{"status":"a"}""", """{"status":["a"]}""", null, "false" },
        { MA, """{"unit":null}""", """{"unit":null}""", null, "true" },
        { MA, """{"unit":null}""", """{"quantity":1}""", null, "true" },
        { MA, """{"unit":null}""", Cable, null, "false" },
        { MA, """{"unit":{"$ne":"m"}}""", """{"quantity":1}""", null, "true" },
        { MA, """{"unit":{"$ne":"m"}}""", """{"unit":null}""", null, "true" },
        { MA, """{"quantity":{"$ne":100}}""", """{"quantity":"100"}""", null, "true" },
        { MA, """{"unit":{"$ne":null}}""", "{}", null, "false" },
        { MA, """{"unit":{"$ne":null}}""", """{"unit":null}""", null, "false" },
        { MA, """{"quantity":{"$gt":1}}""", """{"quantity":null}""", null, "false" },
        { MA, """{"quantity":{"$lt":1}}""", """{"quantity":null}""", null, "false" },
        { MA, """{"quantity":{"$lte":1}}""", "{}", null, "false" },
        { MA, """{"quantity":{"$gt":1}}""", """{"quantity":[5]}""", null, "false" },
        { TC, """{"title":{"$lt":"a"}}""", """{"title":"B"}""", null, "true" },
        { TC, """{"title":{"$gte":"a"}}""", """{"title":"B"}""", null, "false" },
        { TC, """{"title":{"$lt":"\ufffd"}}""", """{"title":"\ud83d\ude00"}""", null, "true" },
        { TC, """{"title":{"$gt":"Z"}}""", """{"title":"Ä"}""", null, "true" },
        { TC, """{"taskTypeCode":{"$in":["LAN"]}}""", "{}", null, "false" },
        { TC, """{"taskTypeCode":{"$in":["LAN"]}}""", """{"taskTypeCode":null}""", null, "false" },
        { TC, """{"taskTypeCode":{"$in":["LAN"]}}""", """{"taskTypeCode":["LAN"]}""", null, "false" },
        { TC, """{"taskTypeCode":{"$nin":["LAN"]}}""", """{"taskTypeCode":null}""", null, "true" },
        { TC, """{"taskTypeCode":{"$nin":["LAN"]}}""", """{"taskTypeCode":["LAN"]}""", null, "true" },
        { TC, """{"taskNumber":{"$exists":true}}""", """{"taskNumber":null}""", null, "false" },
        { TC, """{"taskNumber":{"$exists":true}}""", """{"taskNumber":[]}""", null, "true" },
        { TC, """{"taskNumber":{"$exists":false}}""", """{"taskNumber":7}""", null, "false" },
        { TC, """{"title":{"$contains":"x"}}""", """{"title":null}""", null, "false" },
        { TC, """{"title":{"$contains":"x"}}""", """{"title":["x"]}""", null, "true" },
        { TC, """{"tags":{"$contains":"urg"}}""", """{"tags":"urgent"}""", null, "true" },
        { TC, """{"tags":{"$contains":"a"}}""", """{"tags":[["a"],1,null]}""", null, "false" },
        { TC, """{"title":{"$startsWith":"a"}}""", """{"title":null}""", null, "false" },
        { TC, """{"title":{"$startsWith":"a"}}""", """{"title":["abc"]}""", null, "false" },
        { TC, """{"title":{"$startsWith":"a"}}""", "{}", null, "false" },
        { SC, """{"status":{"$changed":true}}""", """{"status":null}""", "{}", "true" },
        { SC, """{"status":{"$changed":true}}""", "{}", """{"status":null}""", "true" },
        { SC, """{"status":{"$changed":true}}""", """{"title":"x"}""", """{"title":"y"}""", "false" },
        { SC, """{"status":{"$changed":true}}""", """{"status":null}""", """{"status":null}""", "false" },
        { SC, """{"status":{"$changed":true}}""", "{}", null, "false" },
        { SC, """{"status":{"$changed":{"from":null,"to":"a"}}}""", """{"status":"a"}""", "{}", "true" },
        { SC, """{"status":{"$changed":{"from":null}}}""", """{"status":"a"}""", """{"status":"b"}""", "false" },
        { SC, """{"status":{"$changed":{"to":null}}}""", "{}", """{"status":"b"}""", "true" },
        { SC, """{"tags":{"$changed":true}}""", """{"tags":["b","a"]}""", """{"tags":["a","b"]}""", "true" },
        { SC, """{"tags":{"$changed":true}}""", """{"tags":["a","b"]}""", """{"tags":["a","b"]}""", "false" },

        // Missing fields are false, not errors.
        { MA, """{"quantity":{"$gt":1}}""", "{}", null, "false" },
        { MA, """{"material.category":"network"}""", "{}", null, "false" },
        { TC, """{"title":{"$contains":"x"}}""", "{}", null, "false" },
        { TC, """{"taskTypeCode":{"$nin":["LAN"]}}""", "{}", null, "true" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Condition_EvaluatesOrRejects_AsTheTableSays(string eventType, string condition, string data, string? previous, string expected)
    {
        var errors = new List<TriggerValidationError>();
        var compiled = CompiledCondition.TryCompile(Json.Parse(condition), eventType, EventCatalog.Default, errors);

        if (expected.StartsWith("error "))
        {
            compiled.Should().BeNull();
            var prefix = expected["error ".Length..];
            errors.Select(e => e.ToString()).Should().Contain(e => e.StartsWith(prefix), $"errors were: {string.Join(" | ", errors)}");
            return;
        }

        errors.Should().BeEmpty();
        var input = new EvaluationInput(Json.Parse(data), previous is null ? null : Json.Parse(previous), 7, 3);
        compiled!.Matches(input).Should().Be(expected == "true");
        compiled.Explain(input).Matched.Should().Be(expected == "true", "explain and the compiled delegate must agree");
    }

    [Fact]
    public void Cases_AreAtLeastSixty() => Cases.Count.Should().BeGreaterThanOrEqualTo(60);

    [Fact]
    public void Explain_ConditionFalse_NamesFailingClauseAndActualValue()
    {
        var errors = new List<TriggerValidationError>();
        var compiled = CompiledCondition.TryCompile(Json.Parse("""{"taskTypeCode":"LAN","status":"completed"}"""), SC, EventCatalog.Default, errors)!;

        var explanation = compiled.Explain(new EvaluationInput(Json.Parse("""{"taskTypeCode":"LAN","status":"in_progress"}"""), null, 1, null));

        explanation.Matched.Should().BeFalse();
        explanation.Failure!.Path.Should().Be("/triggerCondition/status");
        explanation.Failure.Actual.Should().Be("\"in_progress\"");
        explanation.Failure.Clause.Should().Be("status $eq \"completed\"");
        explanation.Trace.Should().HaveCount(2).And.Contain(t => t.Path == "/triggerCondition/taskTypeCode" && t.Passed);
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsEveryOne()
    {
        var errors = new List<TriggerValidationError>();
        CompiledCondition.TryCompile(Json.Parse("""{"quantity":{"$gt":"5"},"nope":1,"unit":{"$in":[1]}}"""), MA, EventCatalog.Default, errors);

        errors.Select(e => e.Path).Should().BeEquivalentTo("/triggerCondition/quantity/$gt", "/triggerCondition/nope", "/triggerCondition/unit/$in/0");
    }

    [Fact]
    public void Parse_FieldNameWithSlash_IsEscapedInPointer()
    {
        var errors = new List<TriggerValidationError>();
        CompiledCondition.TryCompile(Json.Parse("""{"a/b~c":1}"""), TC, EventCatalog.Default, errors);

        errors.Single().Path.Should().Be("/triggerCondition/a~1b~0c");
    }

    [Fact]
    public void Parse_NestingBeyondLimit_IsAnErrorNotAStackOverflow()
    {
        var json = string.Concat(Enumerable.Repeat("""{"$not":""", 40)) + "{}" + new string('}', 40);
        var errors = new List<TriggerValidationError>();

        var compiled = CompiledCondition.TryCompile(Json.Parse(json), TC, EventCatalog.Default, errors);

        compiled.Should().BeNull();
        errors.Should().ContainSingle(e => e.Message.Contains("nest at most"));
    }

    [Fact]
    public void EqualityKey_TopLevelStringEquality_IsUsedForIndexing()
    {
        var errors = new List<TriggerValidationError>();
        var compiled = CompiledCondition.TryCompile(Json.Parse("""{"taskTypeCode":"LAN","quantity":{"$gt":1}}"""), MA, EventCatalog.Default, errors)!;

        compiled.EqualityKeys.Should().Equal(("taskTypeCode", "LAN"));
    }

    [Fact]
    public void EqualityKeys_DoNotDependOnTheJsonKeyOrder()
    {
        // PostgreSQL's jsonb returns {"status":..,"taskTypeCode":..} for what was saved as {"taskTypeCode":..,"status":..}.
        var errors = new List<TriggerValidationError>();
        var saved = CompiledCondition.TryCompile(Json.Parse("""{"taskTypeCode":"LAN","status":"completed"}"""), SC, EventCatalog.Default, errors)!;
        var readBack = CompiledCondition.TryCompile(Json.Parse("""{"status":"completed","taskTypeCode":"LAN"}"""), SC, EventCatalog.Default, errors)!;

        readBack.EqualityKeys.Should().Equal(saved.EqualityKeys).And.Equal(("status", "completed"), ("taskTypeCode", "LAN"));
    }
}

/// <summary>The operator table and the README's semantics table cannot drift apart.</summary>
public sealed class ConditionOperatorTableTests
{
    [Fact]
    public void EveryOperatorInTheTable_HasARowInTheReadmeSemanticsTable()
    {
        var readme = File.ReadAllText(Path.Combine(FindRepoRoot(), "src", "Dermag.BomTriggers", "README.md"));

        ConditionOperators.All.Keys.Should().OnlyContain(name => readme.Contains($"{{\"f\": {{\"{name}\"", StringComparison.Ordinal) || readme.Contains($"`{name}`", StringComparison.Ordinal));
        ConditionOperators.All.Values.Should().OnlyContain(o => o.AppliesTo.Count > 0 && o.Meaning.Length > 0);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dermag.Libraries.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Dermag.Libraries.sln not found");
    }
}
