using Microsoft.Extensions.Logging;

namespace Dermag.TokenRotation;

/// <summary>The library's log messages. Ids only: never a token, a key, a secret or a hash.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Issued session {SessionId} for user {UserId}")]
    public static partial void SessionIssued(ILogger logger, Guid sessionId, string userId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Rotated refresh token {TokenId} of session {SessionId} to {SuccessorId}")]
    public static partial void Rotated(ILogger logger, Guid tokenId, Guid sessionId, Guid successorId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Refresh token {TokenId} of session {SessionId} was presented again within the grace period; returned its existing successor {SuccessorId}")]
    public static partial void GraceReplay(ILogger logger, Guid tokenId, Guid sessionId, Guid successorId);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Refresh token reuse detected: token {TokenId} of session {SessionId} of user {UserId} was already rotated; policy {Policy} revoked {RevokedSessions} session(s)")]
    public static partial void ReuseDetected(ILogger logger, Guid tokenId, Guid sessionId, string userId, TokenReusePolicy policy, int revokedSessions);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug, Message = "Refresh token {TokenId} of session {SessionId} was refused: {Status}")]
    public static partial void RefreshRefused(ILogger logger, Guid tokenId, Guid sessionId, RefreshStatus status);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Debug, Message = "A presented refresh token was not a valid token of this service")]
    public static partial void InvalidToken(ILogger logger);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "Revoked {Count} session(s) of user {UserId} ({Reason})")]
    public static partial void SessionsRevoked(ILogger logger, int count, string userId, string reason);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "Cleanup deleted {Tokens} refresh token(s) and {Sessions} session(s) that expired before {ExpiredBefore:O}, and {AuditRows} audit row(s) past their retention")]
    public static partial void CleanupCompleted(ILogger logger, int tokens, int sessions, int auditRows, DateTimeOffset expiredBefore);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Error, Message = "Periodic refresh token cleanup failed; it will run again after the interval")]
    public static partial void CleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "The revocation listener on channel {Channel} lost its connection; cached session checks were dropped and it reconnects in about {RetryDelay}")]
    public static partial void RevocationListenerLost(ILogger logger, string channel, TimeSpan retryDelay, Exception exception);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Listening for revocations of other instances on channel {Channel}")]
    public static partial void RevocationListenerListening(ILogger logger, string channel);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "The NpgsqlDataSource from DI that the token store uses resets every connection it takes back (DISCARD ALL), which throws away the plans PostgreSQL keeps for rotate_refresh_token: a refresh costs the server up to twice the CPU. Set No Reset On Close=true on that data source when your own code leaves no session state on its connections, or give the store its own connection string")]
    public static partial void DataSourceResetsConnections(ILogger logger);
}
