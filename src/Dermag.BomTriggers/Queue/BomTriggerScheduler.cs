using System.Text.Json.Nodes;
using Cronos;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

/// <summary>
/// Turns the ticks of scheduled (<see cref="BomTriggerEvents.Schedule"/>) triggers into jobs, once per tick across all
/// instances: the schedule rows are locked with SKIP LOCKED, the tick's job is keyed by trigger and tick, and the next
/// tick is written in the same transaction. Ticks missed while every instance was down run once or are skipped, as the
/// trigger's <see cref="BomTriggerSchedule.MissedTicks"/> says.
/// </summary>
internal sealed class BomTriggerScheduler(
    IBomTriggerJobStore store,
    JobSignal jobs,
    TriggerSnapshotProvider snapshots,
    IOptions<BomTriggerOptions> options,
    TimeProvider timeProvider,
    ILogger<BomTriggerScheduler>? logger = null) : BackgroundService
{
    /// <summary>A tick found later than this is "missed" (all instances were down), not merely late.</summary>
    internal static readonly TimeSpan MissedAfter = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan DeferredTickWait = TimeSpan.FromMilliseconds(250);

    private ILogger Logger => (ILogger?)logger ?? NullLogger.Instance;

    private long _syncedRevision = long.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var errorDelay = TimeSpan.FromMilliseconds(500);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var wait = await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                errorDelay = TimeSpan.FromMilliseconds(500);
                await snapshots.WaitForChangeAsync(wait, timeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.SchedulerFailed(Logger, ex, errorDelay);
                try
                {
                    await Task.Delay(errorDelay, timeProvider, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                errorDelay = errorDelay * 2 < TimeSpan.FromSeconds(30) ? errorDelay * 2 : TimeSpan.FromSeconds(30);
            }
        }
    }

    /// <summary>Syncs the schedule rows with the snapshot when it changed, runs the due ticks; returns how long to sleep.</summary>
    internal async Task<TimeSpan> RunOnceAsync(CancellationToken cancellationToken)
    {
        var snapshot = await snapshots.GetAsync(cancellationToken).ConfigureAwait(false);
        var now = timeProvider.GetUtcNow();
        if (snapshot.Revision != _syncedRevision)
        {
            var scheduled = snapshot.ById.Values.Where(t => t.Trigger.Execution.Schedule is not null && t.Trigger.TriggerEvent == BomTriggerEvents.Schedule).ToList();
            foreach (var unreadable in scheduled.Where(t => !TryParse(t.Trigger.Execution.Schedule!, out _, out _)))
            {
                // Saved on an instance that could read it (time zone data differs between images): say so, never tick silently.
                var schedule = unreadable.Trigger.Execution.Schedule!;
                Log.ScheduleUnreadable(Logger, unreadable.Trigger.Id, schedule.Cron, schedule.TimeZone);
            }

            await store.SyncSchedulesAsync(
                [.. scheduled.Select(t => (t.Trigger.Id, t.Trigger.Version))],
                id => NextTick(snapshot.ById[id].Trigger.Execution.Schedule!, now),
                now,
                cancellationToken).ConfigureAwait(false);
            _syncedRevision = snapshot.Revision;
        }

        if (await store.RunDueSchedulesAsync(now, due => Plan(snapshot, due, now), cancellationToken).ConfigureAwait(false) > 0)
        {
            jobs.Wake();
        }
        var next = await store.GetNextTickAsync(cancellationToken).ConfigureAwait(false);
        var poll = options.Value.JobPollInterval;
        if (next is not { } tick)
        {
            return poll;
        }

        // A tick still due after this round waits for this instance's snapshot to catch up: look again soon, never spin.
        var wait = tick - timeProvider.GetUtcNow();
        return wait < DeferredTickWait ? DeferredTickWait : wait < poll ? wait : poll;
    }

    private ScheduleStep Plan(TriggerSnapshot snapshot, DueSchedule due, DateTimeOffset now)
    {
        if (!snapshot.ById.TryGetValue(due.TriggerId, out var compiled) || compiled.Trigger.Version != due.TriggerVersion || compiled.Trigger.Execution.Schedule is not { } schedule)
        {
            // This instance's snapshot is behind the database: leave the tick for the next round (after a refresh).
            return new ScheduleStep(null, due.NextTick, null);
        }

        var trigger = compiled.Trigger;
        var tick = due.NextTick;
        DateTimeOffset? next;
        if (now - tick > MissedAfter)
        {
            // Missed while no instance ran: the schedule resumes from now.
            next = NextTick(schedule, now);
            if (schedule.MissedTicks == MissedTickPolicy.Skip)
            {
                return new ScheduleStep(null, next, null);
            }

            // Run once, for the latest missed tick.
            tick = LatestTickAtOrBefore(schedule, due.NextTick, now);
        }
        else
        {
            // Merely late (a busy instance, a short outage): the next tick follows this one, so a fast schedule catches up
            // tick by tick instead of dropping the ones in between.
            next = NextTick(schedule, tick);
        }

        var key = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"schedule:{trigger.Id}:{tick.UtcTicks}");
        var data = new JsonObject { ["scheduledAt"] = tick.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture) };
        var job = new NewJob(
            key,
            trigger.Id,
            BomTriggerJobKind.Scheduled,
            new BomTriggerEvent(BomTriggerEvents.Schedule, 0, null, BomTriggerEvent.ToElement(data)),
            BomTriggerEngine.CausedEventId(key, 0),
            Guid.CreateVersion7(now),
            0,
            string.Empty,
            null,
            trigger.Execution.MaxAttempts ?? options.Value.MaxAttempts,
            now);
        return new ScheduleStep(job, next, tick);
    }

    internal static DateTimeOffset? NextTick(BomTriggerSchedule schedule, DateTimeOffset after) =>
        TryParse(schedule, out var cron, out var zone) ? cron.GetNextOccurrence(after, zone)?.ToUniversalTime() : null;

    private static DateTimeOffset LatestTickAtOrBefore(BomTriggerSchedule schedule, DateTimeOffset first, DateTimeOffset now)
    {
        if (!TryParse(schedule, out var cron, out var zone))
        {
            return first;
        }

        // Bounded: a per-second schedule down for a long time is still cheap enough, and the cap keeps it finite.
        var latest = first;
        for (var i = 0; i < 100_000 && cron.GetNextOccurrence(latest, zone) is { } next && next <= now; i++)
        {
            latest = next.ToUniversalTime();
        }

        return latest;
    }

    /// <summary>Parses five-field (minutes) or six-field (seconds first) cron and an IANA or Windows time zone id.</summary>
    internal static bool TryParse(BomTriggerSchedule schedule, out CronExpression cron, out TimeZoneInfo zone)
    {
        cron = null!;
        zone = TimeZoneInfo.Utc;
        var fields = schedule.Cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (!CronExpression.TryParse(schedule.Cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard, out var parsed)
            || parsed is null
            || !TimeZoneInfo.TryFindSystemTimeZoneById(schedule.TimeZone, out var found))
        {
            return false;
        }

        cron = parsed;
        zone = found;
        return true;
    }
}
