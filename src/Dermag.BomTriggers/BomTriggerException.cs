
namespace Dermag.BomTriggers;

/// <summary>The one exception type of Dermag.BomTriggers: misconfiguration, or a failed trigger in strict mode.</summary>
public class BomTriggerException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BomTriggerException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public BomTriggerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public BomTriggerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>In strict mode, the report of the dispatch that had failures.</summary>
    public DispatchReport? Report { get; init; }
}
