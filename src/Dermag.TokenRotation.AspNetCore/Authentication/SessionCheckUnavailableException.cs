namespace Dermag.TokenRotation.AspNetCore;

/// <summary>
/// The authentication failure paranoid mode reports when the session check itself failed (the store is down); the challenge
/// answers it with 503 <c>SESSION_CHECK_UNAVAILABLE</c>, never 401, so clients do not log their users out during an outage.
/// </summary>
internal sealed class SessionCheckUnavailableException : Exception
{
    public SessionCheckUnavailableException()
        : base("The session of this access token could not be checked.")
    {
    }

    public SessionCheckUnavailableException(string message)
        : base(message)
    {
    }

    public SessionCheckUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
