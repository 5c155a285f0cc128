using Microsoft.Extensions.Logging;

namespace Dermag.BomTriggers;

internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "Trigger {TriggerId} ran {ActionType} for task {TaskId} in {ElapsedMs} ms")]
    public static partial void TriggerExecuted(ILogger logger, int triggerId, string actionType, int taskId, double elapsedMs);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Trigger {TriggerId} ({ActionType}) failed for task {TaskId}: {Error}")]
    public static partial void TriggerFailed(ILogger logger, Exception? exception, int triggerId, string actionType, int taskId, string error);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Trigger {TriggerId} suppressed for task {TaskId} at chain depth {Depth} (correlation {CorrelationId}): loop or chain too deep")]
    public static partial void LoopSuppressed(ILogger logger, int triggerId, int taskId, int depth, Guid correlationId);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Could not write {Count} trigger log row(s) of dispatch {CorrelationId}")]
    public static partial void LogWriteFailed(ILogger logger, Exception exception, int count, Guid correlationId);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Loaded {Count} active trigger(s) at revision {Revision}")]
    public static partial void SnapshotLoaded(ILogger logger, int count, long revision);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Stored trigger {TriggerId} is invalid and will be reported as failed: {Errors}")]
    public static partial void InvalidStoredTrigger(ILogger logger, int triggerId, string errors);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "Could not refresh the trigger snapshot; the previous one stays in use")]
    public static partial void SnapshotRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Information, Message = "Inserted {Count} of the example triggers")]
    public static partial void ExampleTriggersSeeded(ILogger logger, int count);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Warning, Message = "The handler of action type {ActionType} cannot be created yet; triggers using it will fail until it can: {Reason}")]
    public static partial void ActionHandlerNotResolvable(ILogger logger, string actionType, string reason);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Trigger {TriggerId} ({ActionType}) for task {TaskId} failed after its timeout had been reported")]
    public static partial void AbandonedActionFailed(ILogger logger, Exception exception, int triggerId, string actionType, int taskId);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "Cleanup deleted {Count} trigger log row(s) executed before {Before:O}")]
    public static partial void LogsCleanedUp(ILogger logger, int count, DateTimeOffset before);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Error, Message = "Periodic trigger log cleanup failed; it will run again after the interval")]
    public static partial void CleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Error, Message = "{Count} job(s) of dispatch {CorrelationId} could not be queued; their outcomes are reported as failed")]
    public static partial void EnqueueFailed(ILogger logger, Exception exception, int count, Guid correlationId);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Error, Message = "Job {JobId} of trigger {TriggerId} is dead-lettered after attempt {Attempt}: {Error}")]
    public static partial void JobDeadLettered(ILogger logger, long jobId, int triggerId, int attempt, string? error);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Warning, Message = "Attempt {Attempt} of job {JobId} ended after its lease was taken over by another worker; its result was logged but not applied")]
    public static partial void JobLeaseLost(ILogger logger, long jobId, int attempt);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Warning, Message = "The job worker could not claim or renew jobs; it tries again after {Delay}")]
    public static partial void WorkerLoopFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Information, Message = "Stopping: released {Count} running job(s) back to the queue")]
    public static partial void JobsReleased(ILogger logger, int count);

    [LoggerMessage(EventId = 4018, Level = LogLevel.Warning, Message = "The scheduler could not run due schedules; it tries again after {Delay}")]
    public static partial void SchedulerFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(EventId = 4019, Level = LogLevel.Warning, Message = "The trigger notification listener on {Channel} lost its connection; instances poll until it reconnects in {Delay}")]
    public static partial void ListenerLost(ILogger logger, string channel, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Information, Message = "Listening for trigger changes and jobs on {Channel}")]
    public static partial void ListenerListening(ILogger logger, string channel);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Information, Message = "Cleanup deleted {Count} finished job(s) that ended before {Before:O}")]
    public static partial void JobsCleanedUp(ILogger logger, int count, DateTimeOffset before);

    [LoggerMessage(EventId = 4022, Level = LogLevel.Error, Message = "The log row of attempt {Attempt} of job {JobId} could not be written; the job's state was recorded")]
    public static partial void JobLogWriteFailed(ILogger logger, Exception exception, long jobId, int attempt);

    [LoggerMessage(EventId = 4023, Level = LogLevel.Warning, Message = "Trigger {TriggerId} has a schedule this instance cannot read (cron '{Cron}', time zone '{TimeZone}'); it does not tick until it can")]
    public static partial void ScheduleUnreadable(ILogger logger, int triggerId, string cron, string timeZone);

    [LoggerMessage(EventId = 4024, Level = LogLevel.Warning, Message = "{Count} event count(s) could not be written; they are kept for the next flush")]
    public static partial void EventCountFlushFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 4025, Level = LogLevel.Debug, Message = "The job worker still cannot claim jobs ({Failures} failures in a row); it tries again after {Delay} or when a job is announced")]
    public static partial void WorkerLoopStillFailing(ILogger logger, Exception exception, int failures, TimeSpan delay);
}
