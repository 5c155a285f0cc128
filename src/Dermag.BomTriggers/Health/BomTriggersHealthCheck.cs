using Dermag.BomTriggers;
using Dermag.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dermag.BomTriggers
{
    /// <summary>Thresholds of the health check added by <c>AddBomTriggers()</c> on an <see cref="IHealthChecksBuilder"/>.</summary>
    public sealed class BomTriggersHealthCheckOptions
    {
        /// <summary>Dead-lettered jobs above this count make the check Degraded.</summary>
        /// <value>The default is 0: any dead-lettered job needs an operator.</value>
        public long MaxDeadJobs { get; set; }

        /// <summary>Pending and retrying jobs above this count make the check Degraded (workers are not keeping up).</summary>
        /// <value>The default is 10,000.</value>
        public long MaxBacklog { get; set; } = 10_000;
    }

    /// <summary>
    /// The store answers; on PostgreSQL the library's migrations are applied with matching checksums (else Unhealthy)
    /// and the LISTEN connection is up (else Degraded: instances poll); the job queue has no dead-lettered jobs and no
    /// backlog above the thresholds (else Degraded). The data carries the queue counts.
    /// </summary>
    internal sealed class BomTriggersHealthCheck(IServiceProvider services, BomTriggersHealthCheckOptions options) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var data = new Dictionary<string, object>(StringComparer.Ordinal);
            try
            {
                await services.GetRequiredService<IBomTriggerStore>().GetRevisionAsync(cancellationToken).ConfigureAwait(false);
                if (services.GetService<DermagMigrations>() is { } migrations)
                {
                    foreach (var status in (await migrations.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Where(s => s.Library == BomTriggersBuilder.LibraryName))
                    {
                        if (!status.IsUpToDate)
                        {
                            return new HealthCheckResult(
                                context.Registration.FailureStatus,
                                $"Dermag.BomTriggers migrations in schema {status.Schema} are not up to date: pending [{string.Join(", ", status.Pending)}], checksum mismatches [{string.Join(", ", status.ChecksumMismatches)}].");
                        }
                    }
                }

                var counts = await services.GetRequiredService<IBomTriggerJobManager>().GetCountsAsync(cancellationToken).ConfigureAwait(false);
                data["pending"] = counts.Pending;
                data["retrying"] = counts.Retrying;
                data["running"] = counts.Running;
                data["dead"] = counts.Dead;
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"The trigger store cannot be read: {ex.GetType().Name}.", ex);
            }

            var problems = new List<string>();
            if ((long)data["dead"] > options.MaxDeadJobs)
            {
                problems.Add($"{data["dead"]} dead-lettered job(s) (more than {options.MaxDeadJobs}): retry or discard them");
            }

            if ((long)data["pending"] + (long)data["retrying"] > options.MaxBacklog)
            {
                problems.Add($"{(long)data["pending"] + (long)data["retrying"]} jobs waiting (more than {options.MaxBacklog})");
            }

            if (services.GetService<IBomTriggerStore>() is PostgresTriggerStore
                && services.GetService<Microsoft.Extensions.Options.IOptionsMonitor<PostgresTriggerStoreOptions>>()?.CurrentValue.Notifications == true
                && services.GetService<TriggerNotificationListener>() is { IsListening: false })
            {
                problems.Add("the LISTEN connection is down: trigger edits and jobs reach this instance by polling");
            }

            return problems.Count == 0
                ? HealthCheckResult.Healthy("Dermag.BomTriggers is healthy.", data)
                : HealthCheckResult.Degraded(string.Join("; ", problems) + ".", data: data);
        }
    }
}

namespace Microsoft.Extensions.DependencyInjection
{
    /// <summary>Adds the Dermag.BomTriggers health check.</summary>
    public static class BomTriggersHealthChecksBuilderExtensions
    {
        /// <summary>
        /// Adds a check that the trigger store answers, that (on PostgreSQL) the migrations are applied with matching checksums
        /// and the LISTEN connection is up, and that the job queue has no dead-lettered jobs or backlog beyond
        /// <paramref name="configure"/>'s thresholds.
        /// </summary>
        /// <param name="builder">The health checks builder.</param>
        /// <param name="name">The check's name.</param>
        /// <param name="failureStatus">The status when the store cannot be read or migrations are missing (default Unhealthy).</param>
        /// <param name="tags">Tags to filter checks by (for example <c>ready</c>).</param>
        /// <param name="configure">Sets the thresholds.</param>
        public static IHealthChecksBuilder AddBomTriggers(
            this IHealthChecksBuilder builder,
            string name = "dermag-bom-triggers",
            HealthStatus? failureStatus = null,
            IEnumerable<string>? tags = null,
            Action<BomTriggersHealthCheckOptions>? configure = null)
        {
            ArgumentNullException.ThrowIfNull(builder);
            var options = new BomTriggersHealthCheckOptions();
            configure?.Invoke(options);
            return builder.Add(new HealthCheckRegistration(name, sp => new BomTriggersHealthCheck(sp, options), failureStatus, tags));
        }
    }
}
