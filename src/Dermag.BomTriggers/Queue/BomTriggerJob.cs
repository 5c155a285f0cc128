using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dermag.BomTriggers;

/// <summary>Where a job is in its life.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BomTriggerJobState>))]
public enum BomTriggerJobState
{
    /// <summary>Waiting until <see cref="BomTriggerJob.DueAt"/> (a retry when <see cref="BomTriggerJob.Attempt"/> is above 0).</summary>
    Pending = 0,

    /// <summary>Claimed by a worker, which holds it under a lease until <see cref="BomTriggerJob.LeaseUntil"/>.</summary>
    Running = 1,

    /// <summary>The action ran and succeeded.</summary>
    Succeeded = 2,

    /// <summary>Nothing to run any more: the trigger was deleted or deactivated, or a delayed trigger's condition no longer matched.</summary>
    Skipped = 3,

    /// <summary>Every attempt failed (dead-lettered); <see cref="BomTriggerJob.LastError"/> says why. Retry or discard it.</summary>
    Dead = 4,

    /// <summary>Discarded by an operator.</summary>
    Discarded = 5,
}

/// <summary>Why a job exists.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BomTriggerJobKind>))]
public enum BomTriggerJobKind
{
    /// <summary>A dispatch matched a queued trigger.</summary>
    Queued = 0,

    /// <summary>A dispatch matched a delayed trigger; its condition is checked again when the job is due.</summary>
    Delayed = 1,

    /// <summary>A tick of a scheduled (<see cref="BomTriggerEvents.Schedule"/>) trigger.</summary>
    Scheduled = 2,
}

/// <summary>One durable execution of a queued, delayed or scheduled trigger (a row of <c>bom_trigger_jobs</c>).</summary>
public sealed record BomTriggerJob
{
    /// <summary>The job id.</summary>
    public required long Id { get; init; }

    /// <summary>Identifies the execution across retries and re-enqueues: the event id and the trigger id (or the schedule tick).</summary>
    public required string IdempotencyKey { get; init; }

    /// <summary>The trigger whose action the job runs.</summary>
    public required int TriggerId { get; init; }

    /// <summary>Why the job exists.</summary>
    public required BomTriggerJobKind Kind { get; init; }

    /// <summary>Where the job is.</summary>
    public required BomTriggerJobState State { get; init; }

    /// <summary>The event that matched.</summary>
    public required BomTriggerEvent Event { get; init; }

    /// <summary>The dispatch chain the job belongs to.</summary>
    public required Guid CorrelationId { get; init; }

    /// <summary>The depth of the event in its chain.</summary>
    public int Depth { get; init; }

    /// <summary>The trigger whose action caused the event (its log rows carry it); null for an event the host dispatched or a schedule tick.</summary>
    public int? CausedByTriggerId { get; init; }

    /// <summary>How many attempts started (the running one included).</summary>
    public int Attempt { get; init; }

    /// <summary>After this many failed attempts the job is dead-lettered.</summary>
    public int MaxAttempts { get; init; }

    /// <summary>When the job is (or was) due.</summary>
    public DateTimeOffset DueAt { get; init; }

    /// <summary>When the job was enqueued.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the job last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Until when the worker holding a running job owns it; after that another worker takes it over.</summary>
    public DateTimeOffset? LeaseUntil { get; init; }

    /// <summary>The worker holding a running job (machine, process and a random part).</summary>
    public string? LockedBy { get; init; }

    /// <summary>
    /// The last attempt's error: the action's exception type and message, as the execution log keeps it (an action must not
    /// put secrets into its exception messages).
    /// </summary>
    public string? LastError { get; init; }

    /// <summary>When the job reached a final state.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>"triggerId:taskId" pairs that already ran in this branch of the chain (the loop guard).</summary>
    internal string Chain { get; init; } = string.Empty;

    /// <summary>True when this claim took the job over from a worker whose lease expired.</summary>
    internal bool TakenOver { get; init; }
}

/// <summary>A filter over jobs, newest change first.</summary>
public sealed record BomTriggerJobQuery
{
    /// <summary>Only jobs in this state.</summary>
    public BomTriggerJobState? State { get; init; }

    /// <summary>Only pending jobs that already failed at least once (<see langword="true"/>) or never ran (<see langword="false"/>).</summary>
    public bool? Retrying { get; init; }

    /// <summary>Only jobs of this trigger.</summary>
    public int? TriggerId { get; init; }

    /// <summary>Only jobs for this task.</summary>
    public int? TaskId { get; init; }

    /// <summary>Only jobs of this dispatch chain.</summary>
    public Guid? CorrelationId { get; init; }

    /// <summary>The page size, clamped to 1..1000.</summary>
    /// <value>The default is 50.</value>
    public int Limit { get; init; } = 50;

    /// <summary>How many matching jobs to skip.</summary>
    public int Offset { get; init; }

    internal BomTriggerJobQuery Normalized() => this with { Limit = Math.Clamp(Limit, 1, 1000), Offset = Math.Max(0, Offset) };

    internal bool Matches(BomTriggerJob job) =>
        (State is not { } state || job.State == state)
        && (Retrying is not { } retrying || (job.State == BomTriggerJobState.Pending && (job.Attempt > 0) == retrying))
        && (TriggerId is not { } trigger || job.TriggerId == trigger)
        && (TaskId is not { } task || job.Event.TaskId == task)
        && (CorrelationId is not { } correlation || job.CorrelationId == correlation);
}

/// <summary>One page of jobs with the total count.</summary>
/// <param name="Items">The jobs of this page.</param>
/// <param name="Total">How many jobs match in all.</param>
/// <param name="Limit">The page size asked for.</param>
/// <param name="Offset">The offset asked for.</param>
public sealed record BomTriggerJobPage(IReadOnlyList<BomTriggerJob> Items, long Total, int Limit, int Offset);

/// <summary>How many jobs are in each open state.</summary>
/// <param name="Pending">Waiting, never attempted.</param>
/// <param name="Retrying">Waiting after a failed attempt.</param>
/// <param name="Running">Held by a worker.</param>
/// <param name="Dead">Dead-lettered.</param>
public sealed record BomTriggerQueueCounts(long Pending, long Retrying, long Running, long Dead);

/// <summary>
/// The durable job queue of queued, delayed and scheduled triggers (the job manager): inspect it, and retry or discard dead-lettered jobs.
/// Workers (<see cref="BomTriggerOptions.WorkerCount"/> per app instance) run the jobs.
/// </summary>
public interface IBomTriggerJobManager
{
    /// <summary>One page of the jobs matching <paramref name="query"/>, most recently changed first.</summary>
    Task<BomTriggerJobPage> QueryAsync(BomTriggerJobQuery query, CancellationToken cancellationToken = default);

    /// <summary>A job, or null.</summary>
    Task<BomTriggerJob?> GetAsync(long jobId, CancellationToken cancellationToken = default);

    /// <summary>How many jobs are pending, retrying, running and dead.</summary>
    Task<BomTriggerQueueCounts> GetCountsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes a dead or discarded job pending again, due now, with as many further attempts as it had; false when the job
    /// does not exist or is not dead or discarded.
    /// </summary>
    Task<bool> RetryAsync(long jobId, CancellationToken cancellationToken = default);

    /// <summary>Discards a pending or dead job (it will not run); false when the job does not exist or is running or finished.</summary>
    Task<bool> DiscardAsync(long jobId, CancellationToken cancellationToken = default);
}

/// <summary>A job to write (ON CONFLICT on the idempotency key: nothing).</summary>
internal sealed record NewJob(
    string IdempotencyKey,
    int TriggerId,
    BomTriggerJobKind Kind,
    BomTriggerEvent Event,
    Guid EventId,
    Guid CorrelationId,
    int Depth,
    string Chain,
    int? OrderingKey,
    int MaxAttempts,
    DateTimeOffset DueAt,
    int? CausedByTriggerId = null);

/// <summary>How an attempt ended, written with its log row under the worker's fence (id, attempt, worker).</summary>
internal sealed record JobCompletion(long JobId, int Attempt, string Worker, BomTriggerJobState State, DateTimeOffset Now, DateTimeOffset? RetryAt, string? Error);

/// <summary>A claim of one job for <paramref name="Worker"/> at <paramref name="Now"/>, held for <paramref name="Lease"/>.</summary>
internal sealed record JobClaim(string Worker, DateTimeOffset Now, TimeSpan Lease);

/// <summary>A scheduled trigger whose next tick is due, locked for the caller.</summary>
internal sealed record DueSchedule(int TriggerId, int TriggerVersion, DateTimeOffset NextTick);

/// <summary>What the scheduler decided for a due schedule: the job to enqueue (or none, for skipped ticks) and the next tick.</summary>
internal sealed record ScheduleStep(NewJob? Job, DateTimeOffset? NextTick, DateTimeOffset? LastTick);

/// <summary>The queue's persistence; both stores implement it with the same semantics (contract tests run on both).</summary>
internal interface IBomTriggerJobStore
{
    /// <summary>Writes the jobs (skipping keys that exist) in the caller's transaction when given, and wakes the workers at commit; returns how many were new.</summary>
    Task<int> EnqueueAsync(IReadOnlyList<NewJob> jobs, System.Data.Common.DbTransaction? transaction, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="max"/> due jobs (pending and due, or running with an expired lease) for
    /// <paramref name="worker"/>, skipping rows another worker is claiming and jobs behind an unfinished job of the same ordering key.
    /// </summary>
    Task<IReadOnlyList<BomTriggerJob>> ClaimAsync(string worker, int max, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Ends an attempt and writes its log row (Applied is false when the worker no longer holds the job: its lease was taken
    /// over); with <paramref name="claimNext"/>, claims the worker's next job in the same round trip. A log row the
    /// database refuses (a tasks foreign key after the task was deleted) does not undo the state change: it is returned as
    /// LogError for the caller to report.
    /// </summary>
    Task<(bool Applied, BomTriggerJob? Next, Exception? LogError)> CompleteAsync(JobCompletion completion, NewTriggerLog? log, JobClaim? claimNext, CancellationToken cancellationToken);

    /// <summary>Extends the leases of the jobs the worker still holds.</summary>
    Task RenewAsync(string worker, IReadOnlyList<long> jobIds, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Hands jobs the worker holds back to the queue, due now (a stopping host).</summary>
    Task ReleaseAsync(string worker, IReadOnlyList<long> jobIds, DateTimeOffset now, string reason, CancellationToken cancellationToken);

    /// <summary>The earliest due time of a pending job, or null.</summary>
    Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken);

    Task<BomTriggerJobPage> QueryJobsAsync(BomTriggerJobQuery query, CancellationToken cancellationToken);

    Task<BomTriggerJob?> GetJobAsync(long jobId, CancellationToken cancellationToken);

    Task<BomTriggerQueueCounts> GetQueueCountsAsync(CancellationToken cancellationToken);

    Task<bool> RetryJobAsync(long jobId, DateTimeOffset now, CancellationToken cancellationToken);

    Task<bool> DiscardJobAsync(long jobId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes at most <paramref name="batchSize"/> jobs that reached a final state before <paramref name="before"/> (dead ones stay).</summary>
    Task<int> DeleteFinishedJobsAsync(DateTimeOffset before, int batchSize, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the schedule rows match the active scheduled trigger versions: a new or changed version gets its first tick
    /// from <paramref name="firstTick"/>, except that a changed version keeps a tick already due at <paramref name="now"/>
    /// (it runs once, and the new schedule goes on from it); rows of triggers no longer listed are removed.
    /// </summary>
    Task SyncSchedulesAsync(IReadOnlyList<(int TriggerId, int Version)> schedules, Func<int, DateTimeOffset?> firstTick, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// In one transaction: locks the due schedule rows of live, active, unchanged triggers (skipping rows another instance
    /// holds), lets <paramref name="plan"/> decide each tick's job and next tick, enqueues the jobs and moves the ticks on.
    /// Returns how many jobs were enqueued.
    /// </summary>
    Task<int> RunDueSchedulesAsync(DateTimeOffset now, Func<DueSchedule, ScheduleStep> plan, CancellationToken cancellationToken);

    /// <summary>The earliest next tick of any schedule, or null.</summary>
    Task<DateTimeOffset?> GetNextTickAsync(CancellationToken cancellationToken);
}
