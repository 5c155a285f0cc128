using System.Text;

namespace Dermag.BomTriggers;

/// <summary>
/// A dotted field path (<c>task.status</c>) split once, with each segment also in UTF-8: a lookup by UTF-8 name compares
/// the document's bytes directly, where a lookup by string first transcodes the name on every evaluation.
/// </summary>
internal sealed class FieldPath
{
    public FieldPath(string path)
    {
        Text = path;
        Segments = path.Split('.');
        Utf8Segments = [.. Segments.Select(Encoding.UTF8.GetBytes)];
    }

    public string Text { get; }

    public string[] Segments { get; }

    public byte[][] Utf8Segments { get; }
}
