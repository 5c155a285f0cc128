using Dermag.Migrations;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation
{
    /// <summary>
    /// The store answers (a session lookup); on PostgreSQL the library's migrations are applied with matching checksums
    /// and the connecting role may execute the rotation function (else Unhealthy) and, with revocation notifications on,
    /// the LISTEN connection is up (else Degraded: cached paranoid-mode answers then live up to <see cref="RefreshTokenRotationOptions.SessionCheckCacheDuration"/>).
    /// </summary>
    internal sealed class TokenRotationHealthCheck(IServiceProvider services) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await services.GetRequiredService<IRefreshTokenStore>().GetSessionActiveUntilAsync(Guid.Empty, services.GetRequiredService<TimeProvider>().GetUtcNow(), cancellationToken).ConfigureAwait(false);
                if (services.GetService<DermagMigrations>() is { } migrations)
                {
                    foreach (var status in (await migrations.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Where(s => s.Library == TokenRotationMigrations.Library))
                    {
                        if (!status.IsUpToDate)
                        {
                            return new HealthCheckResult(
                                context.Registration.FailureStatus,
                                $"Dermag.TokenRotation migrations in schema {status.Schema} are not up to date: pending [{string.Join(", ", status.Pending)}], checksum mismatches [{string.Join(", ", status.ChecksumMismatches)}].");
                        }
                    }
                }

                // The start checked this; a DBA may revoke the grant (or drop the function) while the host runs.
                if (services.GetService<IRefreshTokenStore>() is PostgresRefreshTokenStore postgres
                    && PostgresSchemaCheck.RotationFunctionProblem(
                        await postgres.CanExecuteRotationAsync(cancellationToken).ConfigureAwait(false),
                        services.GetRequiredService<IOptionsMonitor<PostgresTokenStoreOptions>>().CurrentValue) is { } problem)
                {
                    return new HealthCheckResult(context.Registration.FailureStatus, problem);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"The token store cannot be read: {ex.GetType().Name}.", ex);
            }

            if (services.GetService<IRefreshTokenStore>() is PostgresRefreshTokenStore
                && services.GetService<IOptionsMonitor<PostgresTokenStoreOptions>>()?.CurrentValue.RevocationNotifications == true
                && services.GetService<RevocationListener>() is { IsListening: false })
            {
                return HealthCheckResult.Degraded("The revocation LISTEN connection is down: other instances' revocations reach this one only when cached answers expire.");
            }

            return HealthCheckResult.Healthy("Dermag.TokenRotation is healthy.");
        }
    }
}

namespace Microsoft.Extensions.DependencyInjection
{
    /// <summary>Adds the Dermag.TokenRotation health check.</summary>
    public static class TokenRotationHealthChecksBuilderExtensions
    {
        /// <summary>
        /// Adds a check that the token store answers and that, on PostgreSQL, the migrations are applied with matching checksums,
        /// the connecting role may execute the rotation function and the revocation LISTEN connection is up.
        /// </summary>
        /// <param name="builder">The health checks builder.</param>
        /// <param name="name">The check's name.</param>
        /// <param name="failureStatus">The status when the store cannot be read, migrations are missing or refreshes cannot run (default Unhealthy).</param>
        /// <param name="tags">Tags to filter checks by (for example <c>ready</c>).</param>
        public static IHealthChecksBuilder AddRefreshTokenRotation(
            this IHealthChecksBuilder builder,
            string name = "dermag-token-rotation",
            HealthStatus? failureStatus = null,
            IEnumerable<string>? tags = null)
        {
            ArgumentNullException.ThrowIfNull(builder);
            return builder.Add(new HealthCheckRegistration(name, sp => new TokenRotationHealthCheck(sp), failureStatus, tags));
        }
    }
}
