using System.Text.Json;

namespace Dermag.BomTriggers.Tests.Definitions;

/// <summary>
/// The public enums serialize by name with any serializer options, as the API and the logs spell them ("Queued",
/// "Executed"), and still read the numbers an older client may send.
/// </summary>
public sealed class JsonVocabularyTests
{
    [Fact]
    public void Trigger_SerializedWithDefaultOptions_SpellsItsEnumsByName()
    {
        var execution = new BomTriggerExecution
        {
            Mode = TriggerExecutionMode.Queued,
            Schedule = new BomTriggerSchedule { Cron = "0 * * * *", MissedTicks = MissedTickPolicy.Skip },
        };

        var json = JsonSerializer.Serialize(execution);

        json.Should().Contain("\"Mode\":\"Queued\"").And.Contain("\"MissedTicks\":\"Skip\"");
        JsonSerializer.Deserialize<BomTriggerExecution>(json).Should().Be(execution);
    }

    [Fact]
    public void Enums_ReadNamesAndNumbers()
    {
        JsonSerializer.Deserialize<TriggerExecutionMode>("\"Queued\"").Should().Be(TriggerExecutionMode.Queued);
        JsonSerializer.Deserialize<TriggerExecutionMode>("1").Should().Be(TriggerExecutionMode.Queued);
        JsonSerializer.Serialize(TriggerOutcomeKind.ConditionFalse).Should().Be("\"ConditionFalse\"");
        JsonSerializer.Serialize(BomTriggerJobState.Dead).Should().Be("\"Dead\"");
        JsonSerializer.Serialize(BomTriggerJobKind.Scheduled).Should().Be("\"Scheduled\"");
        JsonSerializer.Serialize(BomTriggerChange.Restored).Should().Be("\"Restored\"");
        JsonSerializer.Serialize(BomFieldType.Number).Should().Be("\"Number\"");
    }
}
