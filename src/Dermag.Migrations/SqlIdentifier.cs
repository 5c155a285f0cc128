using System.Text.RegularExpressions;

namespace Dermag.Migrations;

/// <summary>Validates and quotes the identifiers (schema and table names) that options put into SQL text.</summary>
public static partial class SqlIdentifier
{
    /// <summary>
    /// True when <paramref name="name"/> is a plain PostgreSQL identifier: a letter or underscore, then letters,
    /// digits or underscores, 63 characters at most.
    /// </summary>
    public static bool IsValid(string? name) => name is not null && PlainIdentifier().IsMatch(name);

    /// <summary>Returns the identifier in double quotes after validating it; the message names <paramref name="optionName"/>.</summary>
    /// <exception cref="ArgumentException">The identifier is not a plain identifier.</exception>
    public static string Quote(string? name, string optionName)
    {
        if (!IsValid(name))
        {
            throw new ArgumentException(Describe(name, optionName), optionName);
        }

        return "\"" + name + "\"";
    }

    /// <summary>The message used when <paramref name="name"/> is not valid, naming the option it came from.</summary>
    public static string Describe(string? name, string optionName) =>
        $"{optionName} must be a plain SQL identifier (a letter or underscore, then letters, digits or underscores, at most 63 characters); got {(name is null ? "null" : "'" + name + "'")}.";

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex PlainIdentifier();
}
