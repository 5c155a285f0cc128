using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dermag.BomTriggers;

/// <summary>The data source the PostgreSQL store uses: the host's (optionally keyed), or one it owns built from a connection string.</summary>
internal sealed class BomTriggerDataSource : IAsyncDisposable
{
    private readonly bool _owned;

    public BomTriggerDataSource(IServiceProvider services, IOptions<PostgresTriggerStoreOptions> options)
    {
        var value = options.Value;
        if (!string.IsNullOrWhiteSpace(value.ConnectionString))
        {
            DataSource = NpgsqlDataSource.Create(value.ConnectionString);
            _owned = true;
        }
        else
        {
            DataSource = value.DataSourceKey is { } key
                ? services.GetRequiredKeyedService<NpgsqlDataSource>(key)
                : services.GetRequiredService<NpgsqlDataSource>();
        }
    }

    public NpgsqlDataSource DataSource { get; }

    public ValueTask DisposeAsync() => _owned ? DataSource.DisposeAsync() : ValueTask.CompletedTask;
}
