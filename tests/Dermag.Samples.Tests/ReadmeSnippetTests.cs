using System.Text.RegularExpressions;

namespace Dermag.Samples.Tests;

/// <summary>The sample README's C# snippets are copied from the sample's compiling source, never typed from memory.</summary>
public sealed partial class ReadmeSnippetTests
{
    [Fact]
    public void EverySnippetOfTheSampleReadme_AppearsInTheSampleSource()
    {
        var sample = Path.Combine(PackageFeed.FindRepoRootFrom(AppContext.BaseDirectory), "samples", "Dermag.SampleHost");
        var readme = File.ReadAllText(Path.Combine(sample, "README.md"));
        var source = Normalize(string.Join("\n", Directory.GetFiles(sample, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText)));

        var snippets = CSharpBlock().Matches(readme).Select(m => m.Groups[1].Value).ToList();
        snippets.Should().HaveCountGreaterThanOrEqualTo(5);
        foreach (var snippet in snippets)
        {
            source.Should().Contain(Normalize(snippet), "README snippets are copied from the sample's code");
        }
    }

    private static string Normalize(string code) =>
        string.Join("\n", code.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [GeneratedRegex("```csharp\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
