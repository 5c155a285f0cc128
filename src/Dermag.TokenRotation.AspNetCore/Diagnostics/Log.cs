using Microsoft.Extensions.Logging;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>The package's log messages. Ids and codes only: never a token, a key, a secret or a hash.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "Refresh refused: {Code}")]
    public static partial void RefreshRefused(ILogger logger, string code);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Refused a request that carried the refresh token cookie to {Path}: {Reason}")]
    public static partial void CsrfRefused(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Refused an access token of session {SessionId}: the session is no longer active (paranoid mode)")]
    public static partial void SessionNotActive(ILogger logger, string? sessionId);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Debug, Message = "Bearer challenge answered with {Code}")]
    public static partial void Challenged(ILogger logger, string code);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Information, Message = "Session {SessionId} of user {UserId} revoked through the sessions endpoint: {Revoked}")]
    public static partial void SessionRevokeRequested(ILogger logger, Guid sessionId, string userId, bool revoked);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Error, Message = "The session check of session {SessionId} failed (paranoid mode); requests that need authentication are answered 503 SESSION_CHECK_UNAVAILABLE")]
    public static partial void SessionCheckFailed(ILogger logger, string? sessionId, Exception exception);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Error, Message = "The token endpoint {Path} could not reach the token store; it answered 503 TOKEN_SERVICE_UNAVAILABLE")]
    public static partial void TokenStoreUnavailable(ILogger logger, string path, Exception exception);
}
