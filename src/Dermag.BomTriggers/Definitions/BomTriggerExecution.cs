using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dermag.BomTriggers;

/// <summary>Where a trigger's action runs.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TriggerExecutionMode>))]
public enum TriggerExecutionMode
{
    /// <summary>Inside <see cref="IBomTriggerEngine.DispatchAsync"/>, before it returns (the original behaviour).</summary>
    Inline = 0,

    /// <summary>
    /// As a durable job: the dispatch writes the job (in the caller's transaction when it enlisted in one) and returns; a
    /// worker in any app instance runs it, at least once, with retries and a dead-letter state.
    /// </summary>
    Queued = 1,
}

/// <summary>What a schedule does with ticks that passed while no app instance was running.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MissedTickPolicy>))]
public enum MissedTickPolicy
{
    /// <summary>Run once for the missed ticks (however many there were), then follow the schedule.</summary>
    RunOnce = 0,

    /// <summary>Drop the missed ticks and wait for the next one.</summary>
    Skip = 1,
}

/// <summary>When an <see cref="BomTriggerEvents.Schedule"/> trigger fires.</summary>
public sealed record BomTriggerSchedule
{
    /// <summary>
    /// A cron expression: five fields (minute hour day-of-month month day-of-week, for example <c>0 8 * * MON-FRI</c>) or six
    /// with seconds first.
    /// </summary>
    public required string Cron { get; init; }

    /// <summary>The time zone the expression is read in, an IANA id such as <c>Europe/Berlin</c>.</summary>
    /// <value>The default is <c>UTC</c>.</value>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>What happens to ticks missed while every instance was down.</summary>
    /// <value>The default is <see cref="MissedTickPolicy.RunOnce"/>.</value>
    public MissedTickPolicy MissedTicks { get; init; }
}

/// <summary>How a trigger's action is executed: inline or queued, retries, a delay, a schedule.</summary>
public sealed record BomTriggerExecution
{
    /// <summary>The default: inline, no delay, no schedule.</summary>
    public static BomTriggerExecution Default { get; } = new();

    /// <summary>Inline (in the dispatch) or queued (a durable job). Delayed and scheduled triggers always run queued.</summary>
    /// <value>The default is <see cref="TriggerExecutionMode.Inline"/>.</value>
    public TriggerExecutionMode Mode { get; init; }

    /// <summary>How many times a queued job is attempted before it is dead-lettered; null takes <c>BomTriggerOptions.MaxAttempts</c>.</summary>
    /// <value>The default is <see langword="null"/>. Between 1 and 100 when set.</value>
    public int? MaxAttempts { get; init; }

    /// <summary>
    /// Makes the trigger delayed: when its condition matches, a job is due this much later, and at that time the condition is
    /// evaluated again against the task's current data (from the host's <see cref="IBomEventDataProvider"/>); the action
    /// runs only if it still matches. For example "a task entered status X and is still in X three days later".
    /// </summary>
    /// <value>The default is <see langword="null"/> (not delayed). Between 1 second and 366 days when set.</value>
    public TimeSpan? Delay { get; init; }

    /// <summary>The schedule of an <see cref="BomTriggerEvents.Schedule"/> trigger; required for those, not allowed for others.</summary>
    public BomTriggerSchedule? Schedule { get; init; }

    /// <summary>Whether the action runs as a job (queued, delayed or scheduled).</summary>
    public bool IsQueued => Mode == TriggerExecutionMode.Queued || Delay is not null || Schedule is not null;

    /// <summary>The JSON the stores keep (<c>bom_triggers.execution</c>); <c>{}</c> for the default.</summary>
    internal string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (Mode != TriggerExecutionMode.Inline)
            {
                writer.WriteString("mode", "queued");
            }

            if (MaxAttempts is { } attempts)
            {
                writer.WriteNumber("maxAttempts", attempts);
            }

            if (Delay is { } delay)
            {
                writer.WriteNumber("delaySeconds", (long)delay.TotalSeconds);
            }

            if (Schedule is { } schedule)
            {
                writer.WriteStartObject("schedule");
                writer.WriteString("cron", schedule.Cron);
                writer.WriteString("timeZone", schedule.TimeZone);
                writer.WriteString("missedTicks", schedule.MissedTicks == MissedTickPolicy.Skip ? "skip" : "runOnce");
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads what <see cref="ToJson"/> wrote; unknown properties are ignored, so a newer writer's rows still read.</summary>
    internal static BomTriggerExecution FromJson(string? json)
    {
        if (string.IsNullOrEmpty(json) || json == "{}")
        {
            return Default;
        }

        using var document = JsonDocument.Parse(json);
        return FromElement(document.RootElement);
    }

    internal static BomTriggerExecution FromElement(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Default;
        }

        BomTriggerSchedule? schedule = null;
        if (root.TryGetProperty("schedule", out var s) && s.ValueKind == JsonValueKind.Object)
        {
            schedule = new BomTriggerSchedule
            {
                Cron = s.TryGetProperty("cron", out var cron) ? cron.GetString() ?? string.Empty : string.Empty,
                TimeZone = s.TryGetProperty("timeZone", out var zone) ? zone.GetString() ?? "UTC" : "UTC",
                MissedTicks = s.TryGetProperty("missedTicks", out var missed) && missed.ValueEquals("skip") ? MissedTickPolicy.Skip : MissedTickPolicy.RunOnce,
            };
        }

        return new BomTriggerExecution
        {
            Mode = root.TryGetProperty("mode", out var mode) && mode.ValueEquals("queued") ? TriggerExecutionMode.Queued : TriggerExecutionMode.Inline,
            MaxAttempts = root.TryGetProperty("maxAttempts", out var max) && max.TryGetInt32(out var m) ? m : null,
            // A hand-edited value out of range must not break the snapshot of every trigger: it reads as the longest delay.
            Delay = root.TryGetProperty("delaySeconds", out var delay) && delay.TryGetInt64(out var seconds) ? TimeSpan.FromSeconds(Math.Clamp(seconds, 1, (long)TimeSpan.FromDays(366).TotalSeconds)) : null,
            Schedule = schedule,
        };
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{(IsQueued ? "queued" : "inline")}{(Delay is { } d ? $", after {d}" : string.Empty)}{(Schedule is { } s ? $", cron '{s.Cron}' {s.TimeZone}" : string.Empty)}");
}
