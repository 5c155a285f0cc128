using System.Reflection;

namespace Dermag.Migrations;

/// <summary>The ordered scripts one library ships, with the library's name and version as recorded in the history table.</summary>
public sealed class MigrationSet
{
    /// <summary>Creates a set from scripts; they are ordered by name.</summary>
    /// <param name="library">The library name recorded in the history table, for example <c>Dermag.TokenRotation</c>.</param>
    /// <param name="version">The library version recorded with each applied script.</param>
    /// <param name="scripts">The scripts; names must be unique.</param>
    public MigrationSet(string library, string version, IEnumerable<MigrationScript> scripts)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(library);
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        ArgumentNullException.ThrowIfNull(scripts);
        Library = library;
        Version = version;
        Scripts = [.. scripts.OrderBy(s => s.Name, StringComparer.Ordinal)];
        var duplicate = Scripts.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"The migration script '{duplicate.Key}' appears more than once in {library}.", nameof(scripts));
        }
    }

    /// <summary>The library name recorded in the history table.</summary>
    public string Library { get; }

    /// <summary>The library version recorded with each applied script.</summary>
    public string Version { get; }

    /// <summary>The scripts in the order they run.</summary>
    public IReadOnlyList<MigrationScript> Scripts { get; }

    /// <summary>
    /// Loads every embedded resource whose name starts with <paramref name="resourcePrefix"/> and ends in <c>.sql</c>;
    /// the script name is the part after the prefix.
    /// </summary>
    public static MigrationSet FromEmbeddedResources(Assembly assembly, string library, string resourcePrefix)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        ArgumentException.ThrowIfNullOrWhiteSpace(resourcePrefix);
        var scripts = new List<MigrationScript>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(resourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            scripts.Add(new MigrationScript(resource[resourcePrefix.Length..], reader.ReadToEnd()));
        }

        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "0.0.0";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return new MigrationSet(library, plus > 0 ? version[..plus] : version, scripts);
    }
}
