namespace Dermag.BomTriggers;

/// <summary>The operator's view of the job queue, over either store.</summary>
internal sealed class BomTriggerJobManager(IBomTriggerJobStore store, JobSignal signal, TimeProvider timeProvider) : IBomTriggerJobManager
{
    public Task<BomTriggerJobPage> QueryAsync(BomTriggerJobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return store.QueryJobsAsync(query.Normalized(), cancellationToken);
    }

    public Task<BomTriggerJob?> GetAsync(long jobId, CancellationToken cancellationToken = default) => store.GetJobAsync(jobId, cancellationToken);

    public Task<BomTriggerQueueCounts> GetCountsAsync(CancellationToken cancellationToken = default) => store.GetQueueCountsAsync(cancellationToken);

    public async Task<bool> RetryAsync(long jobId, CancellationToken cancellationToken = default)
    {
        var retried = await store.RetryJobAsync(jobId, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (retried)
        {
            signal.Wake();
        }

        return retried;
    }

    public Task<bool> DiscardAsync(long jobId, CancellationToken cancellationToken = default) =>
        store.DiscardJobAsync(jobId, timeProvider.GetUtcNow(), cancellationToken);
}
