using System.Data;
using System.Globalization;
using Dermag.Migrations;
using Npgsql;
using NpgsqlTypes;

namespace Dermag.TokenRotation;

/// <summary>
/// The PostgreSQL store. Each session has one <c>refresh_sessions</c> row that rotation and every revocation lock: the
/// success path of a rotation is one statement (a compare-and-swap of the session's current token that also marks the
/// presented token rotated and inserts the successor), so N concurrent refreshes of a token serialize on the session and
/// exactly one wins, and a revocation either waits for a rotation and then also revokes its successor, or makes it fail.
/// Every time value is a parameter taken from the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class PostgresRefreshTokenStore : IRefreshTokenStore
{
    private const string DeadlockDetected = "40P01";
    private const string SerializationFailure = "40001";
    private const int MaxAttempts = 3;

    private readonly NpgsqlDataSource _dataSource;

    /// <summary>The data source the store runs on (its own, or the host's from DI).</summary>
    internal NpgsqlDataSource DataSource => _dataSource;
    private readonly UserIdColumnType _userIdType;
    private readonly PostgresSql _sql;
    private readonly string? _channel;

    public PostgresRefreshTokenStore(NpgsqlDataSource dataSource, PostgresTokenStoreOptions options)
    {
        _dataSource = dataSource;
        _userIdType = options.UserIdType;
        _sql = new PostgresSql(SqlIdentifier.Quote(options.Schema, nameof(options.Schema)), options.UserIdSqlType);
        _channel = options.RevocationNotifications ? RevocationChannel.For(options.Schema) : null;
    }

    public async Task CreateSessionAsync(StoredRefreshToken token, SessionContext context, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_sql.CreateSession);
        Add(command, token.TokenId);
        Add(command, CheckUserId(token.UserId));
        Add(command, token.SessionId);
        Add(command, token.CreatedAt);
        Add(command, token.ExpiresAt);
        Add(command, token.SessionExpiresAt);
        AddText(command, context.IpAddress);
        AddText(command, context.UserAgent);
        AddText(command, context.DeviceFingerprint);
        Add(command, AuditDetails.ToJson(AuditDetails.Login(token, context)));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<RotationOutcome> RotateAsync(RotationRequest request, CancellationToken cancellationToken)
    {
        for (var pass = 1; ; pass++)
        {
            if (await WithRetryAsync(ct => TryRotateAsync(request, ct), cancellationToken).ConfigureAwait(false) is { } rotated)
            {
                return rotated;
            }

            // The token is not the current token of a live session: find out why under the session's lock. A session
            // adopted there (started by a previous version of the library) rotates on the next pass.
            if (await UnderSessionLockAsync(request.TokenId, request.SessionId, JudgeRotationAsync, request, cancellationToken).ConfigureAwait(false) is { } judged)
            {
                return judged;
            }

            if (pass == 2)
            {
                throw new TokenRotationException($"Refresh token {request.TokenId} is current but did not rotate; this is a bug in Dermag.TokenRotation.");
            }
        }
    }

    /// <summary>The hot path: one round trip, no transaction beyond the statement's own.</summary>
    private async Task<RotationOutcome?> TryRotateAsync(RotationRequest request, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_sql.Rotate);
        Add(command, request.TokenId);
        Add(command, request.SuccessorId);
        Add(command, request.Now);
        Add(command, request.IssuedAt);
        Add(command, request.ExpiresAt);
        AddText(command, request.Context.IpAddress);
        AddText(command, request.Context.UserAgent);
        AddText(command, request.Context.DeviceFingerprint);
        Add(command, request.SessionId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var successor = ReadToken(reader, 0);
        return new RotationOutcome(RotationStatus.Rotated, successor, successor.UserId, successor.SessionId);
    }

    private async Task<RotationOutcome?> JudgeRotationAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TokenState? token, SessionState? session, RotationRequest request, CancellationToken cancellationToken)
    {
        switch (SessionRules.Judge(request.TokenId, token, session, request.Now, request.GracePeriod))
        {
            case TokenVerdict.GraceReplay:
                var s = session!.Value;
                await using (var command = new NpgsqlCommand(_sql.InsertAudit, connection, transaction))
                {
                    Add(command, AuditEventTypes.TokenGraceReplay);
                    Add(command, s.UserId);
                    AddText(command, request.Context.IpAddress);
                    Add(command, AuditDetails.ToJson(AuditDetails.GraceReplay(request, s.CurrentTokenId)));
                    Add(command, request.Now);
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                return new RotationOutcome(RotationStatus.GraceReplay, s.CurrentToken, s.UserId, s.SessionId);

            case TokenVerdict.Reuse:
                var t = token!.Value;
                var revoked = await ApplyReusePolicyAsync(connection, transaction, t, request.TokenId, request.ReusePolicy, request.Now, request.Context, "refresh", cancellationToken).ConfigureAwait(false);
                return new RotationOutcome(RotationStatus.ReuseDetected, UserId: t.UserId, SessionId: t.SessionId, Revoked: revoked);

            case TokenVerdict.Expired:
                return new RotationOutcome(RotationStatus.Expired, UserId: token!.Value.UserId, SessionId: token.Value.SessionId);

            case TokenVerdict.Revoked:
                return new RotationOutcome(RotationStatus.Revoked, UserId: token!.Value.UserId, SessionId: token.Value.SessionId);

            case TokenVerdict.Current:
                // The compare-and-swap checks the same conditions, so only a session adopted just now gets here: rotate it.
                return null;

            default:
                return new RotationOutcome(RotationStatus.NotFound);
        }
    }

    public Task<LogoutOutcome> LogoutAsync(LogoutRequest request, CancellationToken cancellationToken) =>
        UnderSessionLockAsync(request.TokenId, request.SessionId, JudgeLogoutAsync, request, cancellationToken);

    private async Task<LogoutOutcome> JudgeLogoutAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TokenState? token, SessionState? session, LogoutRequest request, CancellationToken cancellationToken)
    {
        switch (SessionRules.Judge(request.TokenId, token, session, request.Now, request.GracePeriod))
        {
            // A revoked token still logs the attempt (revoked_count 0), as an already-ended logout always has.
                case TokenVerdict.Current or TokenVerdict.GraceReplay or TokenVerdict.Revoked:
                var s = session!.Value;
                var ended = await RevokeSessionsAsync(
                    connection,
                    transaction,
                    new Revocation(s.UserId, request.Now, RevokeReasons.Logout, s.SessionId, null, OnlyActive: true, AuditEventTypes.Logout, request.Context.IpAddress, AuditDetails.Logout(request), AuditDetails.RevokedCount),
                    cancellationToken).ConfigureAwait(false);
                return new LogoutOutcome(ended.Counted > 0 ? LogoutResult.SessionRevoked : LogoutResult.AlreadyEnded, s.UserId, ended);

            case TokenVerdict.Reuse:
                var t = token!.Value;
                var revoked = await ApplyReusePolicyAsync(connection, transaction, t, request.TokenId, request.ReusePolicy, request.Now, request.Context, "logout", cancellationToken).ConfigureAwait(false);
                return new LogoutOutcome(LogoutResult.ReuseDetected, t.UserId, revoked);

            default:
                return new LogoutOutcome(LogoutResult.AlreadyEnded, token?.UserId, RevocationOutcome.None);
        }
    }

    public Task<RevocationOutcome> RevokeAsync(RevocationRequest request, CancellationToken cancellationToken)
    {
        var revocation = new Revocation(
            CheckUserId(request.UserId),
            request.Now,
            request.Reason,
            request.SessionId,
            request.ExceptSessionId,
            OnlyActive: true,
            request.AuditEventType,
            request.Context.IpAddress,
            AuditDetails.Revocation(request),
            AuditDetails.RevokedCount);
        return WithRetryAsync(
            async ct =>
            {
                await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct).ConfigureAwait(false);
                var outcome = await RevokeSessionsAsync(connection, transaction, revocation, ct).ConfigureAwait(false);
                await transaction.CommitAsync(ct).ConfigureAwait(false);
                return outcome;
            },
            cancellationToken);
    }

    public async Task<IReadOnlyList<SessionInfo>> ListActiveSessionsAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_sql.ListSessions);
        Add(command, CheckUserId(userId));
        Add(command, now);
        var sessions = new List<SessionInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            sessions.Add(new SessionInfo(
                reader.GetGuid(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4),
                reader.GetFieldValue<DateTimeOffset>(5),
                reader.GetFieldValue<DateTimeOffset>(6),
                reader.GetFieldValue<DateTimeOffset>(7)));
        }

        return sessions;
    }

    public async Task<DateTimeOffset?> GetSessionActiveUntilAsync(Guid sessionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_sql.IsSessionActive);
        Add(command, sessionId);
        Add(command, now);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is DateTime until
            ? new DateTimeOffset(until, TimeSpan.Zero)
            : null;
    }

    public async Task<int> DeleteExpiredAsync(CleanupTarget target, DateTimeOffset before, int batchSize, CancellationToken cancellationToken)
    {
        var sql = target switch
        {
            CleanupTarget.Tokens => _sql.DeleteExpiredTokens,
            CleanupTarget.Sessions => _sql.DeleteExpiredSessions,
            _ => _sql.DeleteOldAudit,
        };
        await using var command = _dataSource.CreateCommand(sql);
        Add(command, before);
        Add(command, batchSize);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The SQL type of <c>refresh_tokens.user_id</c> in <paramref name="schema"/>, or null when the table does not exist.</summary>
    internal async Task<string?> ReadUserIdColumnTypeAsync(string schema, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_sql.UserIdColumnType);
        Add(command, schema);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <summary>Whether the connecting role may execute the rotation function; null when the function does not exist.</summary>
    internal async Task<bool?> CanExecuteRotationAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_sql.RotationFunctionExecutable);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as bool?;
    }

    /// <summary>
    /// Locks the session, then reads the presented token with a newer snapshot, and hands both to <paramref name="judge"/>
    /// inside a READ COMMITTED transaction (each statement must see what committed before it). Two reuse responses for one
    /// user lock the same sessions in different orders and can deadlock; PostgreSQL aborts one, which runs again. A token
    /// without a session row (a session started by a previous version of the library) has its session adopted first.
    /// </summary>
    private Task<TResult> UnderSessionLockAsync<TRequest, TResult>(
        Guid tokenId,
        Guid sessionId,
        Func<NpgsqlConnection, NpgsqlTransaction, TokenState?, SessionState?, TRequest, CancellationToken, Task<TResult>> judge,
        TRequest request,
        CancellationToken cancellationToken) => WithRetryAsync(
        async ct =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct).ConfigureAwait(false);
            var (token, session) = await LockAndReadAsync(connection, transaction, tokenId, sessionId, ct).ConfigureAwait(false);
            if (token is not null && session is null)
            {
                await using (var adopt = new NpgsqlCommand(_sql.AdoptSession, connection, transaction))
                {
                    Add(adopt, sessionId);
                    await adopt.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                (token, session) = await LockAndReadAsync(connection, transaction, tokenId, sessionId, ct).ConfigureAwait(false);
            }

            var result = await judge(connection, transaction, token, session, request, ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return result;
        },
        cancellationToken);

    /// <summary>One round trip: lock the session row, then (a later statement, so a newer snapshot) read the token.</summary>
    private async Task<(TokenState? Token, SessionState? Session)> LockAndReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid tokenId, Guid sessionId, CancellationToken ct)
    {
        SessionState? session = null;
        TokenState? token = null;
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            var lockSession = new NpgsqlBatchCommand(_sql.LockSession);
            lockSession.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = sessionId });
            var readToken = new NpgsqlBatchCommand(_sql.ReadToken);
            readToken.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tokenId });
            batch.BatchCommands.Add(lockSession);
            batch.BatchCommands.Add(readToken);
            await using var reader = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false);
            if (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                session = new SessionState(
                    reader.GetString(0),
                    sessionId,
                    reader.GetGuid(1),
                    reader.GetFieldValue<DateTimeOffset>(2),
                    reader.GetFieldValue<DateTimeOffset>(3),
                    reader.GetFieldValue<DateTimeOffset>(4),
                    reader.GetBoolean(5));
            }

            await reader.NextResultAsync(ct).ConfigureAwait(false);
            if (await reader.ReadAsync(ct).ConfigureAwait(false) && reader.GetGuid(1) == sessionId)
            {
                token = new TokenState(
                    reader.GetString(0),
                    reader.GetGuid(1),
                    reader.GetBoolean(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
                    reader.GetFieldValue<DateTimeOffset>(5),
                    reader.IsDBNull(6) ? null : reader.GetGuid(6));
            }
        }

        return (token, session);
    }

    private Task<RevocationOutcome> ApplyReusePolicyAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        TokenState token,
        Guid tokenId,
        TokenReusePolicy policy,
        DateTimeOffset now,
        SessionContext context,
        string via,
        CancellationToken cancellationToken) => RevokeSessionsAsync(
        connection,
        transaction,
        new Revocation(
            token.UserId,
            now,
            RevokeReasons.ReuseDetected,
            policy == TokenReusePolicy.RevokeSession ? token.SessionId : null,
            null,
            OnlyActive: false,
            AuditEventTypes.TokenReuseAttack,
            context.IpAddress,
            AuditDetails.Reuse(token.SessionId, tokenId, context, policy, via),
            AuditDetails.RevokedSessions),
        cancellationToken);

    /// <summary>Ends the sessions in scope (locking them), audits and publishes, then revokes their tokens with a newer snapshot.</summary>
    private async Task<RevocationOutcome> RevokeSessionsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Revocation revocation, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        var revoke = new NpgsqlBatchCommand(_sql.RevokeSessions);
        var p = revoke.Parameters;
        p.Add(new NpgsqlParameter<string> { TypedValue = revocation.UserId });
        p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = revocation.Now });
        p.Add(new NpgsqlParameter<string> { TypedValue = revocation.Reason });
        p.Add(Uuid(revocation.SessionId));
        p.Add(Uuid(revocation.ExceptSessionId));
        p.Add(new NpgsqlParameter<bool> { TypedValue = revocation.OnlyActive });
        p.Add(new NpgsqlParameter<string> { TypedValue = revocation.EventType });
        p.Add(Text(revocation.IpAddress));
        p.Add(new NpgsqlParameter<string> { TypedValue = AuditDetails.ToJson(revocation.Details) });
        p.Add(new NpgsqlParameter<string> { TypedValue = revocation.CountKey });
        p.Add(Text(_channel));
        var sweep = new NpgsqlBatchCommand(_sql.SweepRevokedSessions);
        sweep.Parameters.Add(new NpgsqlParameter<string> { TypedValue = revocation.UserId });
        batch.BatchCommands.Add(revoke);
        batch.BatchCommands.Add(sweep);

        var ended = new List<Guid>();
        var counted = 0;
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ended.Add(reader.GetGuid(0));
            counted += !revocation.OnlyActive || reader.GetBoolean(1) ? 1 : 0;
        }

        while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
        {
        }

        return new RevocationOutcome(ended, counted);
    }

    private static async Task<T> WithRetryAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await operation(cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException ex) when (ex.SqlState is DeadlockDetected or SerializationFailure && attempt < MaxAttempts)
            {
            }
        }
    }

    /// <summary>
    /// Rejects ids the column type cannot hold with an argument error instead of a database error, and ids PostgreSQL would
    /// hand back in another form (<c>+5</c>, <c>05</c>, an upper-case or braced uuid), which would change the <c>sub</c>
    /// claim at the first refresh.
    /// </summary>
    private string CheckUserId(string userId)
    {
        var canonical = _userIdType switch
        {
            UserIdColumnType.Integer => int.TryParse(userId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? i.ToString(CultureInfo.InvariantCulture) : null,
            UserIdColumnType.BigInt => long.TryParse(userId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l.ToString(CultureInfo.InvariantCulture) : null,
            UserIdColumnType.Uuid => Guid.TryParseExact(userId, "D", out var g) ? g.ToString("D") : null,
            _ => SessionContext.IsStorableText(userId) ? userId : null,
        };
        return string.Equals(canonical, userId, StringComparison.Ordinal)
            ? userId
            : throw new ArgumentException(
                $"The user id is not a valid {_userIdType} value in its canonical form (as PostgreSQL returns it), which the user_id column type requires.",
                nameof(userId));
    }

    private static StoredRefreshToken ReadToken(NpgsqlDataReader reader, int start) => new(
        reader.GetGuid(start),
        reader.GetString(start + 1),
        reader.GetGuid(start + 2),
        reader.GetFieldValue<DateTimeOffset>(start + 3),
        reader.GetFieldValue<DateTimeOffset>(start + 4),
        reader.GetFieldValue<DateTimeOffset>(start + 5));

    private static void Add<T>(NpgsqlCommand command, T value) => command.Parameters.Add(new NpgsqlParameter<T> { TypedValue = value });

    private static void AddText(NpgsqlCommand command, string? value) => command.Parameters.Add(Text(value));

    private static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Uuid(Guid? value) => new() { NpgsqlDbType = NpgsqlDbType.Uuid, Value = value is { } v ? v : DBNull.Value };

    /// <summary>What <see cref="RevokeSessionsAsync"/> ends and how it is audited; <see cref="OnlyActive"/> counts only sessions whose current token had not expired.</summary>
    private sealed record Revocation(
        string UserId,
        DateTimeOffset Now,
        string Reason,
        Guid? SessionId,
        Guid? ExceptSessionId,
        bool OnlyActive,
        string EventType,
        string? IpAddress,
        KeyValuePair<string, object?>[] Details,
        string CountKey);
}
