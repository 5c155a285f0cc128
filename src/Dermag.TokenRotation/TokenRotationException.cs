namespace Dermag.TokenRotation;

/// <summary>
/// The one exception type of Dermag.TokenRotation: misconfiguration (no store, no data source) or a broken invariant.
/// Expected outcomes of a refresh or logout are results (<see cref="RefreshResult"/>, <see cref="LogoutResult"/>), never
/// exceptions. Messages carry ids only, never a token, key or hash.
/// </summary>
public class TokenRotationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TokenRotationException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public TokenRotationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public TokenRotationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
