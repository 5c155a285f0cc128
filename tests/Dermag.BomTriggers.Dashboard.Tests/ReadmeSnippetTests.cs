using System.Text.RegularExpressions;

namespace Dermag.BomTriggers.Dashboard.Tests;

/// <summary>The package README's C# snippets are copied from code that compiles and runs (the test host, the sample), and its screenshots exist.</summary>
public sealed partial class ReadmeSnippetTests
{
    [Fact]
    public void EverySnippet_AppearsInTheTestHostOrTheSample_AndEveryScreenshotIsInDocs()
    {
        var root = Path.GetDirectoryName(BrowserFixture.DocsDirectory)!;
        var readme = File.ReadAllText(Path.Combine(root, "src", "Dermag.BomTriggers.Dashboard", "README.md"));
        var sources = Directory.GetFiles(Path.Combine(root, "samples", "Dermag.SampleHost"), "*.cs", SearchOption.AllDirectories)
            .Append(Path.Combine(root, "tests", "Dermag.BomTriggers.Dashboard.Tests", "DashboardHost.cs"))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        var source = Normalize(string.Join("\n", sources.Select(File.ReadAllText)));

        var snippets = CSharpBlock().Matches(readme).Select(m => m.Groups[1].Value).ToList();
        snippets.Should().HaveCountGreaterThanOrEqualTo(2);
        foreach (var snippet in snippets)
        {
            source.Should().Contain(Normalize(snippet), "README snippets are copied from compiling code");
        }

        var images = Screenshot().Matches(readme).Select(m => m.Groups[1].Value).ToList();
        images.Should().BeEquivalentTo(["triggers", "builder", "dry-run", "runs", "chain", "queue"]);
        images.Should().OnlyContain(i => File.Exists(Path.Combine(BrowserFixture.DocsDirectory, $"dashboard-{i}.png")), "they are committed (the browser tests rewrite them with DERMAG_UPDATE_SCREENSHOTS=1)");
    }

    private static string Normalize(string code) =>
        string.Join("\n", code.Replace("\r", string.Empty, StringComparison.Ordinal).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [GeneratedRegex("```csharp\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex("docs/dashboard-([a-z-]+)\\.png")]
    private static partial Regex Screenshot();
}
