namespace Dermag.Migrations;

/// <summary>Where and how a <see cref="MigrationRunner"/> applies a set.</summary>
public sealed class MigrationRunnerOptions
{
    /// <summary>The schema the scripts and the history table live in. Must be a plain identifier (letters, digits, underscore; 63 bytes at most).</summary>
    /// <value>The default is <c>public</c>.</value>
    public string Schema { get; set; } = "public";

    /// <summary>How long a migrator waits for another instance's migration lock before failing.</summary>
    /// <value>The default is 60 seconds.</value>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Extra placeholder values a library fills into its scripts (<c>{{name}}</c> becomes the value).
    /// Values must come from validated options, never from user input.
    /// </summary>
    public IDictionary<string, string> Placeholders { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
