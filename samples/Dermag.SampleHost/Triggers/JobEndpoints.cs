using Dermag.BomTriggers;
using Dermag.SampleHost.Api;

namespace Dermag.SampleHost.Triggers;

/// <summary>
/// <c>/api/bom-triggers/jobs</c>: the durable queue of queued, delayed and scheduled triggers over
/// <see cref="IBomTriggerJobManager"/>. Viewers see it; managers retry or discard dead-lettered jobs.
/// </summary>
public static class JobEndpoints
{
    public static RouteGroupBuilder MapJobEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/bom-triggers/jobs").WithTags("BOM trigger jobs");

        group.MapGet("/", async (BomTriggerJobState? state, bool? retrying, int? triggerId, int? taskId, int? limit, int? offset, IBomTriggerJobManager jobs, CancellationToken ct) =>
            Envelope.Ok(await jobs.QueryAsync(new BomTriggerJobQuery { State = state, Retrying = retrying, TriggerId = triggerId, TaskId = taskId, Limit = limit ?? 50, Offset = offset ?? 0 }, ct)))
            .RequireAuthorization(Policies.ViewTriggers).WithSummary("List jobs, most recently changed first (filter by state, retrying, triggerId, taskId)");

        group.MapGet("/counts", async (IBomTriggerJobManager jobs, CancellationToken ct) => Envelope.Ok(await jobs.GetCountsAsync(ct)))
            .RequireAuthorization(Policies.ViewTriggers).WithSummary("How many jobs are pending, retrying, running and dead");

        group.MapPost("/{id:long}/retry", async (long id, IBomTriggerJobManager jobs, CancellationToken ct) =>
            await jobs.RetryAsync(id, ct) ? Envelope.Ok(await jobs.GetAsync(id, ct), $"Job {id} is due again.") : Envelope.NotFound($"Job {id} does not exist or is not dead or discarded."))
            .RequireAuthorization(Policies.ManageTriggers).WithSummary("Make a dead-lettered (or discarded) job pending again");

        group.MapPost("/{id:long}/discard", async (long id, IBomTriggerJobManager jobs, CancellationToken ct) =>
            await jobs.DiscardAsync(id, ct) ? Envelope.Ok(await jobs.GetAsync(id, ct), $"Job {id} is discarded.") : Envelope.NotFound($"Job {id} does not exist or is running or finished."))
            .RequireAuthorization(Policies.ManageTriggers).WithSummary("Discard a pending or dead-lettered job");

        return group;
    }
}
