namespace Dermag.TokenRotation.AspNetCore;

/// <summary>The authentication failure paranoid mode reports; the challenge answers it with <c>TOKEN_REVOKED</c>.</summary>
internal sealed class SessionRevokedException : Exception
{
    public SessionRevokedException()
        : base("The session of this access token is no longer active.")
    {
    }

    public SessionRevokedException(string message)
        : base(message)
    {
    }

    public SessionRevokedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
