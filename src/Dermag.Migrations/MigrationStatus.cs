namespace Dermag.Migrations;

/// <summary>A script recorded in the history table.</summary>
/// <param name="Name">The script name.</param>
/// <param name="Checksum">The checksum recorded when it was applied.</param>
/// <param name="AppliedAt">When it was applied (database clock).</param>
/// <param name="AppliedBy">The database role that applied it.</param>
/// <param name="ExecutionTime">How long the script took.</param>
/// <param name="LibraryVersion">The library version that applied it.</param>
public sealed record AppliedMigration(
    string Name,
    string Checksum,
    DateTimeOffset AppliedAt,
    string AppliedBy,
    TimeSpan ExecutionTime,
    string LibraryVersion);

/// <summary>How a database compares to the scripts a library ships.</summary>
/// <param name="Library">The library.</param>
/// <param name="Schema">The schema inspected.</param>
/// <param name="Applied">Scripts the code knows that the database has applied.</param>
/// <param name="Pending">Scripts the code ships that the database has not applied, in run order.</param>
/// <param name="Unknown">Scripts recorded in the database that this version of the code does not ship.</param>
/// <param name="ChecksumMismatches">Applied scripts whose text changed since they were applied.</param>
public sealed record MigrationStatus(
    string Library,
    string Schema,
    IReadOnlyList<AppliedMigration> Applied,
    IReadOnlyList<string> Pending,
    IReadOnlyList<AppliedMigration> Unknown,
    IReadOnlyList<string> ChecksumMismatches)
{
    /// <summary>True when nothing is pending and no checksum changed.</summary>
    public bool IsUpToDate => Pending.Count == 0 && ChecksumMismatches.Count == 0;
}

/// <summary>What one <see cref="MigrationRunner.MigrateAsync"/> call did.</summary>
/// <param name="Library">The library.</param>
/// <param name="Schema">The schema migrated.</param>
/// <param name="Applied">Scripts this call applied, in order; empty when the database was up to date.</param>
public sealed record MigrationResult(string Library, string Schema, IReadOnlyList<string> Applied);
