using System.Diagnostics.Metrics;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Dermag.TokenRotation: <c>services.AddRefreshTokenRotation(o => ...).UsePostgres()</c>.</summary>
public static class RefreshTokenRotationServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IRefreshTokenManager"/> with its options (validated when the host starts). Choose a store on the
    /// returned builder. Calling it again is harmless (later <paramref name="configure"/> delegates apply on top).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options: issuer, audience, keys, lifetimes, reuse policy.</param>
    public static RefreshTokenRotationBuilder AddRefreshTokenRotation(this IServiceCollection services, Action<RefreshTokenRotationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<RefreshTokenRotationOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RefreshTokenRotationOptions>, RefreshTokenRotationOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new TokenRotationMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<IRefreshTokenStore>(_ => throw new TokenRotationException(
            "Dermag.TokenRotation has no store: call UsePostgres(...) or UseInMemoryStore() on the builder returned by AddRefreshTokenRotation()."));
        services.TryAddSingleton<SessionActivityCache>();
        services.TryAddSingleton<IRefreshTokenManager, RefreshTokenManager>();
        return new RefreshTokenRotationBuilder(services);
    }
}
