namespace Dermag.Migrations;

/// <summary>A library's request to have its migrations run at host startup.</summary>
internal sealed class MigrationRegistration(string library, MigrationStartupMode mode, Func<IServiceProvider, MigrationRunner> createRunner)
{
    public string Library { get; } = library;

    public MigrationStartupMode Mode { get; } = mode;

    public MigrationRunner CreateRunner(IServiceProvider services) => createRunner(services);
}
