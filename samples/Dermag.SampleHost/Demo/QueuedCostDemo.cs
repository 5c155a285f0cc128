using Dermag.BomTriggers;

namespace Dermag.SampleHost.Demo;

/// <summary>
/// Makes the demo's "Recalculate cost after material add" example trigger queued when it is still as seeded, so the
/// ADD_MATERIAL → CALCULATE_COST chain shows durable execution: the task request returns once the job is written, and a
/// worker recalculates the cost a moment later. Runs after the library seeded the examples (hosted services start in
/// registration order).
/// </summary>
internal sealed class QueuedCostDemo(IBomTriggerManager triggers, ILogger<QueuedCostDemo> logger) : IHostedService
{
    private const string CostTriggerName = "Recalculate cost after material add";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var cost = (await triggers.ListAsync(new BomTriggerQuery { TriggerEvent = BomTriggerEvents.MaterialAdd }, cancellationToken))
            .FirstOrDefault(t => t.Name == CostTriggerName && t.ActionType == BomTriggerActions.CalculateCost);
        if (cost is { Version: 1, Execution.IsQueued: false })
        {
            var queued = BomTriggerDefinition.From(cost) with { Execution = new BomTriggerExecution { Mode = TriggerExecutionMode.Queued } };
            var saved = await triggers.UpdateAsync(cost.Id, queued, changedBy: null, cancellationToken);
            if (saved.Succeeded)
            {
                logger.LogInformation("Demo: trigger {TriggerId} ({Name}) now runs queued", cost.Id, CostTriggerName);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
