namespace Dermag.Migrations;

/// <summary>A library's request to have its migrations run at host startup.</summary>
internal sealed class MigrationRegistration(string library, Func<IServiceProvider, MigrationStartupMode> mode, Func<IServiceProvider, MigrationRunner> createRunner)
{
    public string Library { get; } = library;

    /// <summary>Read at startup, not at registration, so configuration applied after <c>UsePostgres</c> counts.</summary>
    public MigrationStartupMode Mode(IServiceProvider services) => mode(services);

    public MigrationRunner CreateRunner(IServiceProvider services) => createRunner(services);
}
