using System.Globalization;
using Dermag.Migrations;
using Npgsql;
using NpgsqlTypes;

namespace Dermag.TokenRotation;

/// <summary>Holds the data source the PostgreSQL store uses, and disposes it when the store built it from a connection string.</summary>
internal sealed class TokenRotationDataSource(NpgsqlDataSource dataSource, bool owned) : IAsyncDisposable
{
    public NpgsqlDataSource DataSource { get; } = dataSource;

    public ValueTask DisposeAsync() => owned ? DataSource.DisposeAsync() : ValueTask.CompletedTask;
}

/// <summary>
/// The PostgreSQL store. The success path of a rotation is one statement (a CTE that marks the old token used only while
/// it is still active and inserts the successor), so N concurrent refreshes of a token serialize on its row and exactly
/// one wins. Every time value is a parameter taken from the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class PostgresRefreshTokenStore : IRefreshTokenStore
{
    private const string UniqueViolation = "23505";
    private const string DeadlockDetected = "40P01";
    private const string SerializationFailure = "40001";

    private readonly NpgsqlDataSource _dataSource;
    private readonly UserIdColumnType _userIdType;
    private readonly PostgresSql _sql;

    public PostgresRefreshTokenStore(NpgsqlDataSource dataSource, PostgresTokenStoreOptions options)
    {
        _dataSource = dataSource;
        _userIdType = options.UserIdType;
        _sql = new PostgresSql(SqlIdentifier.Quote(options.Schema, nameof(options.Schema)), options.UserIdSqlType);
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
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<RotationOutcome> RotateAsync(RotationRequest request, CancellationToken cancellationToken)
    {
        // The hot path: one round trip, no transaction beyond the statement's own.
        try
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
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var successor = ReadToken(reader, 0);
                return new RotationOutcome(RotationStatus.Rotated, successor, successor.UserId, successor.SessionId);
            }
        }
        catch (PostgresException ex) when (ex.SqlState == UniqueViolation)
        {
            // Cannot happen through this store (the row lock serializes rotations); classify whatever state the row is in.
        }

        // Two reuse responses for one user revoke the same rows and can deadlock; PostgreSQL aborts one, which retries.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ClassifyAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException ex) when (ex.SqlState is DeadlockDetected or SerializationFailure && attempt < 3)
            {
            }
        }
    }

    /// <summary>The token did not rotate: find out why under a row lock, and apply the reuse policy in the same transaction.</summary>
    private async Task<RotationOutcome> ClassifyAsync(RotationRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        string userId;
        Guid sessionId;
        bool revoked;
        string? reason;
        DateTimeOffset? revokedAt;
        DateTimeOffset expiresAt;
        StoredRefreshToken? successor = null;
        bool successorActive = false;
        await using (var command = new NpgsqlCommand(_sql.Classify, connection, transaction))
        {
            Add(command, request.TokenId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return new RotationOutcome(RotationStatus.NotFound);
            }

            userId = reader.GetString(0);
            sessionId = reader.GetGuid(1);
            revoked = reader.GetBoolean(2);
            reason = reader.IsDBNull(3) ? null : reader.GetString(3);
            revokedAt = reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4);
            expiresAt = reader.GetFieldValue<DateTimeOffset>(5);
            if (!reader.IsDBNull(6))
            {
                successor = ReadToken(reader, 6);
                successorActive = !reader.GetBoolean(12);
            }
        }

        if (!revoked)
        {
            return expiresAt <= request.Now
                ? new RotationOutcome(RotationStatus.Expired, UserId: userId, SessionId: sessionId)
                : throw new TokenRotationException($"Refresh token {request.TokenId} is active but did not rotate; this is a bug in Dermag.TokenRotation.");
        }

        if (reason != RevokeReasons.Rotated)
        {
            return new RotationOutcome(RotationStatus.Revoked, UserId: userId, SessionId: sessionId);
        }

        if (request.GracePeriod > TimeSpan.Zero
            && revokedAt + request.GracePeriod > request.Now
            && successor is not null
            && successorActive
            && successor.ExpiresAt > request.Now)
        {
            return new RotationOutcome(RotationStatus.GraceReplay, successor, userId, sessionId);
        }

        var revokedSessions = new List<Guid>();
        await using (var command = new NpgsqlCommand(
            request.ReusePolicy == TokenReusePolicy.RevokeSession ? _sql.ReuseRevokeSession : _sql.ReuseRevokeUser, connection, transaction))
        {
            Add(command, userId);
            Add(command, request.Now);
            Add(command, sessionId);
            AddText(command, request.Context.IpAddress);
            Add(command, request.TokenId);
            AddText(command, request.Context.UserAgent);
            Add(command, InMemoryRefreshTokenStore.PolicyName(request.ReusePolicy));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                revokedSessions.Add(reader.GetGuid(0));
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RotationOutcome(RotationStatus.ReuseDetected, UserId: userId, SessionId: sessionId, RevokedSessions: revokedSessions);
    }

    public async Task<IReadOnlyList<Guid>> RevokeAsync(RevocationRequest request, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_sql.Revoke);
        Add(command, CheckUserId(request.UserId));
        Add(command, request.Now);
        Add(command, request.Reason);
        AddUuid(command, request.SessionId);
        AddUuid(command, request.ExceptSessionId);
        Add(command, request.AuditEventType);
        AddText(command, request.Context.IpAddress);
        AddText(command, request.Context.UserAgent);
        var sessions = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            sessions.Add(reader.GetGuid(0));
        }

        return sessions;
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

    public async Task<bool> IsSessionActiveAsync(Guid sessionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_sql.IsSessionActive);
        Add(command, sessionId);
        Add(command, now);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<int> DeleteExpiredAsync(DateTimeOffset expiredBefore, int batchSize, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(_sql.DeleteExpired);
        Add(command, expiredBefore);
        Add(command, batchSize);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rejects ids the column type cannot hold with an argument error instead of a database error.</summary>
    private string CheckUserId(string userId)
    {
        var valid = _userIdType switch
        {
            UserIdColumnType.Integer => int.TryParse(userId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
            UserIdColumnType.BigInt => long.TryParse(userId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
            UserIdColumnType.Uuid => Guid.TryParse(userId, out _),
            _ => !userId.Contains('\0', StringComparison.Ordinal),
        };
        return valid
            ? userId
            : throw new ArgumentException($"The user id is not a valid {_userIdType} value, which the user_id column type requires.", nameof(userId));
    }

    private static StoredRefreshToken ReadToken(NpgsqlDataReader reader, int start) => new(
        reader.GetGuid(start),
        reader.GetString(start + 1),
        reader.GetGuid(start + 2),
        reader.GetFieldValue<DateTimeOffset>(start + 3),
        reader.GetFieldValue<DateTimeOffset>(start + 4),
        reader.GetFieldValue<DateTimeOffset>(start + 5));

    private static void Add<T>(NpgsqlCommand command, T value) => command.Parameters.Add(new NpgsqlParameter<T> { TypedValue = value });

    private static void AddText(NpgsqlCommand command, string? value) =>
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value });

    private static void AddUuid(NpgsqlCommand command, Guid? value) =>
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Uuid, Value = value is { } v ? v : DBNull.Value });
}
