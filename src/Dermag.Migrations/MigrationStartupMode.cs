namespace Dermag.Migrations;

/// <summary>What a host does with a library's migration scripts when it starts.</summary>
public enum MigrationStartupMode
{
    /// <summary>Apply every pending script before the host starts serving.</summary>
    Apply = 0,

    /// <summary>Apply nothing; fail startup, naming each pending script, when the database is behind the code.</summary>
    ValidateOnly = 1,

    /// <summary>Do nothing at startup; the schema is managed elsewhere (for example with the exported psql script).</summary>
    None = 2,
}
