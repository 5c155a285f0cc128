using System.Security.Cryptography;
using System.Text;

namespace Dermag.Migrations;

/// <summary>
/// One numbered, forward-only SQL script. The text may contain placeholders such as <c>{{schema}}</c>,
/// filled at run time with validated values; the checksum is taken over the text before that.
/// </summary>
public sealed class MigrationScript
{
    /// <summary>Creates a script.</summary>
    /// <param name="name">The script's file name, for example <c>0001_create_refresh_tokens.sql</c>; scripts run in ordinal order of their names.</param>
    /// <param name="sql">The script text.</param>
    public MigrationScript(string name, string sql)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(sql);
        Name = name;
        Sql = NormalizeLineEndings(sql);
        Checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql)));
    }

    /// <summary>The script's name, unique within its library.</summary>
    public string Name { get; }

    /// <summary>The script text with line endings normalized to LF, placeholders not yet filled.</summary>
    public string Sql { get; }

    /// <summary>The lowercase hex SHA-256 of <see cref="Sql"/> (UTF-8, LF line endings).</summary>
    public string Checksum { get; }

    internal static string NormalizeLineEndings(string text) =>
        text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');

    /// <inheritdoc />
    public override string ToString() => Name;
}
