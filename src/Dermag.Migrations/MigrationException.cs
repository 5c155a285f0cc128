namespace Dermag.Migrations;

/// <summary>A migration could not be applied or validated: a failing script, a changed checksum, a lock timeout or pending scripts in validate-only mode.</summary>
public sealed class MigrationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MigrationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public MigrationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public MigrationException()
    {
    }

    /// <summary>The script the error is about, when there is one.</summary>
    public string? ScriptName { get; init; }
}
