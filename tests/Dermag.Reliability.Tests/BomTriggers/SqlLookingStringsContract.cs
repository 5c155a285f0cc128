using System.Text.Json;
using Dermag.BomTriggers;
using Dermag.Reliability.Tests.Support;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.Reliability.Tests.BomTriggers;

/// <summary>
/// Strings that look like SQL (quotes, comments, dollar quotes, parameters, LIKE wildcards, backslashes) in every text
/// field a caller controls are stored and returned verbatim, match in conditions like any other text, reach the host's
/// action unchanged and land in the logs unchanged; the tables are intact afterwards. Run on both stores.
/// </summary>
public abstract class SqlLookingStringsContract
{
    public static readonly string[] Nasty =
    [
        "'; DROP TABLE bom_triggers; --",
        "Robert'); DROP TABLE bom_trigger_logs;--",
        "1' OR '1'='1",
        "\" OR \"\"=\"",
        "$1, $2::text, $3",
        "$$ SELECT pg_sleep(5) $$",
        "$tag$ ; DELETE FROM bom_triggers; $tag$",
        "\\'; SELECT 1; --",
        "E'\\x27' || chr(39)",
        "/* comment */ UNION SELECT usename, passwd FROM pg_shadow --",
        "%_\\%\\_ LIKE '%'",
        "{\"json\": \"in a string\", \"$gt\": 1}",
        "line1\nline2\ttab\r\n",
        "ünïcødé ž 😀 ‮reversed",
        "C:\\path\\to\\file\\",
        "?; :name; @p0; {0}",
    ];

    protected abstract Task<ServiceProvider> StartAsync();

    [Fact]
    public async Task Sql_looking_strings_in_every_text_field_round_trip_verbatim()
    {
        await using var provider = await StartAsync();
        var store = provider.GetRequiredService<IBomTriggerManager>();
        var engine = provider.GetRequiredService<IBomTriggerEngine>();
        var host = provider.GetRequiredService<QuietHost>();
        var created = new List<int>();

        for (var i = 0; i < Nasty.Length; i++)
        {
            var s = Nasty[i];
            var result = await store.CreateAsync(Definition(s, i));
            result.Errors.Should().BeEmpty();
            created.Add(result.Trigger!.Id);
            AssertVerbatim(result.Trigger, s);
            AssertVerbatim((await store.GetAsync(result.Trigger.Id))!, s);

            // Updated to the next nasty string, and read back again.
            var next = Nasty[(i + 1) % Nasty.Length];
            var updated = await store.UpdateAsync(result.Trigger.Id, Definition(next, i));
            updated.Errors.Should().BeEmpty();
            AssertVerbatim((await store.GetAsync(result.Trigger.Id))!, next);
        }

        var listed = await store.ListAsync();
        listed.Should().HaveCount(Nasty.Length);
        foreach (var trigger in listed)
        {
            AssertVerbatim(trigger, Nasty[(created.IndexOf(trigger.Id) + 1) % Nasty.Length]);
        }

        // SQL-looking filters and event names are just values: they match nothing, and a dispatch of one is refused as an
        // event type no trigger can listen to.
        foreach (var s in Nasty)
        {
            (await store.ListAsync(new BomTriggerQuery { TriggerEvent = s })).Should().BeEmpty();
            (await store.CreateAsync(Definition(s, 0) with { TriggerEvent = s })).Errors.Should().Contain(e => e.Path == "/triggerEvent");
            var dispatch = () => engine.DispatchAsync(new BomTriggerEvent(s, 1, 1, Json.Parse("{}")));
            (await dispatch.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("is not known");
        }

        // The strings match in conditions, reach the action and the logs unchanged.
        for (var i = 0; i < Nasty.Length; i++)
        {
            var s = Nasty[(i + 1) % Nasty.Length];
            var data = JsonSerializer.Serialize(new Dictionary<string, object> { ["title"] = s, ["status"] = s, ["taskTypeCode"] = "X" + i });
            var report = await engine.DispatchAsync(new BomTriggerEvent(BomTriggerEvents.StatusChange, 1000 + i, 7, Json.Parse(data)));
            report.OfKind(TriggerOutcomeKind.Executed).Select(o => o.TriggerId).Should().Equal(created[i]);
            var logs = await BomHost.AllLogsAsync(store, created[i]);
            logs.Should().ContainSingle();
            logs[0].InputData!.Value.GetProperty("title").GetString().Should().Be(s);
            logs[0].InputData!.Value.GetProperty("status").GetString().Should().Be(s);
        }

        host.Notifications.Select(n => n.Message).Should().BeEquivalentTo(Enumerable.Range(0, Nasty.Length).Select(i => Nasty[(i + 1) % Nasty.Length]));
        host.Notifications.Should().OnlyContain(n => n.Recipients.Count == 2 && n.Recipients[0] == n.Message && n.Recipients[1] == "manager");
        (await store.ListAsync()).Should().HaveCount(Nasty.Length, "the tables are intact");
    }

    private static BomTriggerDefinition Definition(string s, int index) => new()
    {
        Name = s,
        Description = s + " (description)",
        TriggerEvent = BomTriggerEvents.StatusChange,
        TriggerCondition = Json.Parse(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["taskTypeCode"] = "X" + index,
            ["title"] = s,
            ["status"] = new Dictionary<string, object> { ["$in"] = new[] { s, "completed" } },
        })),
        ActionType = BomTriggerActions.Notify,
        ActionConfig = Json.Parse(JsonSerializer.Serialize(new { message = s, recipients = new[] { s, "manager" } })),
    };

    private static void AssertVerbatim(BomTrigger trigger, string s)
    {
        trigger.Name.Should().Be(s);
        trigger.Description.Should().Be(s + " (description)");
        trigger.TriggerCondition.GetProperty("title").GetString().Should().Be(s);
        trigger.TriggerCondition.GetProperty("status").GetProperty("$in")[0].GetString().Should().Be(s);
        trigger.ActionConfig.GetProperty("message").GetString().Should().Be(s);
        trigger.ActionConfig.GetProperty("recipients")[0].GetString().Should().Be(s);
    }
}

public sealed class SqlLookingStringsInMemoryTests : SqlLookingStringsContract
{
    protected override Task<ServiceProvider> StartAsync() => BomHost.StartAsync(b => b.UseInMemoryStore());
}

public sealed class SqlLookingStringsPostgresTests(PostgresDatabase database) : SqlLookingStringsContract, IClassFixture<PostgresDatabase>
{
    protected override Task<ServiceProvider> StartAsync() =>
        BomHost.StartAsync(b => b.UsePostgres(database.ConnectionString, o => o.Schema = BomHost.NewSchema()));
}
