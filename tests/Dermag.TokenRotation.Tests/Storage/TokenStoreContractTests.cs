using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Dermag.TokenRotation.Tests.Storage;

/// <summary>An audit row as the tests compare it across stores.</summary>
public sealed record AuditRow(string EventType, string? UserId, string? IpAddress, IReadOnlyDictionary<string, string?> Details);

/// <summary>A token row as the invariant checks see it.</summary>
public sealed record TokenRow(Guid TokenId, string UserId, Guid SessionId, Guid? ParentTokenId, bool Revoked, string? RevokeReason, Guid? RevokedByTokenId);

/// <summary>
/// The store contract, run through the token service against every store (in-memory and PostgreSQL subclasses), so both
/// keep the same semantics. Fake time only.
/// </summary>
public abstract class TokenStoreContractTests : IAsyncLifetime
{
    private static readonly SessionContext Browser = new("203.0.113.7", "Firefox/140", "fp-1");

    protected FakeTimeProvider Time { get; } = TestSetup.Clock();

    private protected IRefreshTokenStore Store { get; private set; } = null!;

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private protected abstract Task<IRefreshTokenStore> CreateStoreAsync();

    protected abstract Task<IReadOnlyList<AuditRow>> ReadAuditAsync(string userId);

    protected abstract Task<IReadOnlyList<TokenRow>> ReadTokensAsync();

    private protected RefreshTokenManager Service(Action<RefreshTokenRotationOptions>? configure = null) => TestSetup.Service(Store, Time, configure);

    protected static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task IssueAsync_NewLogin_ListsSessionAndWritesLoginAudit()
    {
        var service = Service();
        var user = NewUser();

        var pair = await service.IssueAsync(user, Browser);

        var sessions = await service.ListSessionsAsync(user);
        sessions.Should().ContainSingle().Which.Should().Be(new SessionInfo(
            pair.SessionId, "203.0.113.7", "Firefox/140", "fp-1", TestSetup.Start, TestSetup.Start, TestSetup.Start.AddDays(7), TestSetup.Start.AddDays(30)));
        pair.AccessTokenExpiresAt.Should().Be(TestSetup.Start.AddMinutes(15));
        var audit = await ReadAuditAsync(user);
        audit.Should().ContainSingle(a => a.EventType == AuditEventTypes.Login)
            .Which.Details["session_id"].Should().Be(pair.SessionId.ToString());
    }

    [Fact]
    public async Task IssueAsync_OversizedContext_IsTrimmedToTheColumnSizes()
    {
        var service = Service();
        var user = NewUser();

        await service.IssueAsync(user, new SessionContext(new string('1', 60), new string('u', 2000), new string('f', 300)));

        var session = (await service.ListSessionsAsync(user)).Should().ContainSingle().Subject;
        session.IpAddress.Should().HaveLength(45);
        session.UserAgent.Should().HaveLength(512);
        session.DeviceFingerprint.Should().HaveLength(256);
    }

    [Fact]
    public async Task IssueAsync_ContextThatIsNotValidText_IsStoredSanitizedNotRejected()
    {
        var service = Service();
        var user = NewUser();
        var emojiAtTheCut = new string('u', 511) + "\U0001F600"; // the surrogate pair straddles the 512-character cut
        var loneSurrogate = "fp-\uD800-\uDFFF-end";
        var withNul = "10.0.0.1\0";

        var pair = await service.IssueAsync(user, new SessionContext(withNul, emojiAtTheCut, loneSurrogate));
        var rotated = await service.RefreshAsync(pair.RefreshToken, new SessionContext(UserAgent: "\uDBFF"));

        rotated.Succeeded.Should().BeTrue();
        var session = (await service.ListSessionsAsync(user)).Should().ContainSingle().Subject;
        session.IpAddress.Should().Be("10.0.0.1\uFFFD");
        session.DeviceFingerprint.Should().Be("fp-\uFFFD-\uFFFD-end");
        session.UserAgent.Should().Be("\uFFFD");
        (await ReadAuditAsync(user)).Should().Contain(a => a.EventType == AuditEventTypes.Login)
            .Which.Details["user_agent"].Should().Be(new string('u', 511), "the pair is dropped whole, never split");
    }

    [Fact]
    public async Task IsSessionActiveAsync_PrincipalWithSessionClaim_ChecksThatSession()
    {
        var service = Service();
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        var principal = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim("sid", pair.SessionId.ToString())], "test"));

        (await service.IsSessionActiveAsync(principal)).Should().BeTrue();
        (await service.IsSessionActiveAsync(new System.Security.Claims.ClaimsPrincipal())).Should().BeFalse();
        await service.LogoutAsync(pair.RefreshToken);
        (await service.IsSessionActiveAsync(principal)).Should().BeFalse();
    }

    [Fact]
    public async Task RefreshAsync_ActiveToken_RotatesWithinTheSameSession()
    {
        var service = Service();
        var user = NewUser();
        var pair = await service.IssueAsync(user, Browser);
        Time.Advance(TimeSpan.FromMinutes(20));

        var result = await service.RefreshAsync(pair.RefreshToken, new SessionContext("198.51.100.1", "Chrome/150"));

        result.Status.Should().Be(RefreshStatus.Rotated);
        result.Tokens!.SessionId.Should().Be(pair.SessionId);
        result.Tokens.RefreshToken.Should().NotBe(pair.RefreshToken);
        result.Tokens.AccessToken.Should().NotBe(pair.AccessToken);
        result.Tokens.RefreshTokenExpiresAt.Should().Be(TestSetup.Start.AddMinutes(20).AddDays(7), "every rotation renews the refresh lifetime");
        var session = (await service.ListSessionsAsync(user)).Should().ContainSingle().Subject;
        session.CreatedAt.Should().Be(TestSetup.Start);
        session.LastUsedAt.Should().Be(TestSetup.Start.AddMinutes(20));
        session.IpAddress.Should().Be("198.51.100.1");
        session.DeviceFingerprint.Should().Be("fp-1", "a refresh without a fingerprint keeps the session's");
    }

    [Fact]
    public async Task RefreshAsync_TokenAlreadyUsed_RevokesAllSessions()
    {
        var service = Service();
        var user = NewUser();
        var first = await service.IssueAsync(user, Browser);
        var other = await service.IssueAsync(user, Browser);
        var bystander = await service.IssueAsync(NewUser(), Browser);
        var rotated = await service.RefreshAsync(first.RefreshToken);

        var reuse = await service.RefreshAsync(first.RefreshToken, new SessionContext("192.0.2.66", "curl/8"));

        reuse.Status.Should().Be(RefreshStatus.ReuseDetected);
        reuse.ErrorCode.Should().Be("TOKEN_REUSE_ATTACK");
        (await service.ListSessionsAsync(user)).Should().BeEmpty();
        (await service.RefreshAsync(rotated.Tokens!.RefreshToken)).Status.Should().Be(RefreshStatus.Revoked);
        (await service.RefreshAsync(other.RefreshToken)).Status.Should().Be(RefreshStatus.Revoked);
        (await service.RefreshAsync(bystander.RefreshToken)).Status.Should().Be(RefreshStatus.Rotated, "other users are not affected");
        var attack = (await ReadAuditAsync(user)).Should().ContainSingle(a => a.EventType == AuditEventTypes.TokenReuseAttack).Subject;
        attack.IpAddress.Should().Be("192.0.2.66");
        attack.UserId.Should().Be(user);
        attack.Details["user_agent"].Should().Be("curl/8");
        attack.Details["session_id"].Should().Be(first.SessionId.ToString());
        attack.Details["token_id"].Should().Be(JwtTokenId(service, first.RefreshToken));
        attack.Details["revoked_sessions"].Should().Be("2");
    }

    [Fact]
    public async Task RefreshAsync_TokenAlreadyUsedWithSessionPolicy_RevokesOnlyThatSession()
    {
        var service = Service(o => o.ReusePolicy = TokenReusePolicy.RevokeSession);
        var user = NewUser();
        var first = await service.IssueAsync(user);
        var other = await service.IssueAsync(user);
        var rotated = await service.RefreshAsync(first.RefreshToken);

        (await service.RefreshAsync(first.RefreshToken)).Status.Should().Be(RefreshStatus.ReuseDetected);

        (await service.ListSessionsAsync(user)).Select(s => s.SessionId).Should().Equal(other.SessionId);
        (await service.RefreshAsync(rotated.Tokens!.RefreshToken)).Status.Should().Be(RefreshStatus.Revoked);
        (await ReadAuditAsync(user)).Should().ContainSingle(a => a.EventType == AuditEventTypes.TokenReuseAttack)
            .Which.Details["revoked_sessions"].Should().Be("1");
    }

    [Fact]
    public async Task RefreshAsync_TokenRevokedByLogout_ReturnsRevokedWithoutSideEffects()
    {
        var service = Service();
        var user = NewUser();
        var loggedOut = await service.IssueAsync(user);
        var other = await service.IssueAsync(user);
        (await service.LogoutAsync(loggedOut.RefreshToken)).Should().Be(LogoutResult.SessionRevoked);

        var result = await service.RefreshAsync(loggedOut.RefreshToken);

        result.Status.Should().Be(RefreshStatus.Revoked);
        result.ErrorCode.Should().Be("TOKEN_REVOKED");
        (await service.ListSessionsAsync(user)).Select(s => s.SessionId).Should().Equal(other.SessionId);
        (await ReadAuditAsync(user)).Select(a => a.EventType).Should().NotContain(AuditEventTypes.TokenReuseAttack);
    }

    [Fact]
    public async Task RefreshAsync_TokenRevokedByEarlierReuseResponse_ReturnsRevokedAndAuditsOnce()
    {
        var service = Service();
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        var rotated = await service.RefreshAsync(pair.RefreshToken);
        (await service.RefreshAsync(pair.RefreshToken)).Status.Should().Be(RefreshStatus.ReuseDetected);

        (await service.RefreshAsync(rotated.Tokens!.RefreshToken)).Status.Should().Be(RefreshStatus.Revoked);

        (await ReadAuditAsync(user)).Count(a => a.EventType == AuditEventTypes.TokenReuseAttack).Should().Be(1);
    }

    [Fact]
    public async Task RefreshAsync_AfterRefreshLifetime_ReturnsExpired()
    {
        var service = Service();
        var pair = await service.IssueAsync(NewUser());
        Time.Advance(TimeSpan.FromDays(7));

        var result = await service.RefreshAsync(pair.RefreshToken);

        result.Status.Should().Be(RefreshStatus.Expired);
    }

    [Fact]
    public async Task RefreshAsync_NearAbsoluteLifetime_NeverExtendsTheSession()
    {
        var service = Service(o => o.AbsoluteSessionLifetime = TimeSpan.FromDays(10));
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        Time.Advance(TimeSpan.FromDays(6));

        var rotated = await service.RefreshAsync(pair.RefreshToken);

        rotated.Tokens!.RefreshTokenExpiresAt.Should().Be(TestSetup.Start.AddDays(10));
        rotated.Tokens.SessionExpiresAt.Should().Be(TestSetup.Start.AddDays(10));
        Time.Advance(TimeSpan.FromDays(3.99));
        var last = await service.RefreshAsync(rotated.Tokens.RefreshToken);
        last.Tokens!.AccessTokenExpiresAt.Should().Be(TestSetup.Start.AddDays(10), "an access token never outlives its session");
        Time.Advance(TimeSpan.FromDays(0.01));
        (await service.RefreshAsync(last.Tokens.RefreshToken)).Status.Should().Be(RefreshStatus.Expired);
        (await service.ListSessionsAsync(user)).Should().BeEmpty();
    }

    [Fact]
    public async Task RefreshAsync_PredecessorWithinGracePeriod_ReturnsTheSameSuccessor()
    {
        var service = Service(o => o.ReuseGracePeriod = TimeSpan.FromSeconds(30));
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        var rotated = await service.RefreshAsync(pair.RefreshToken);
        Time.Advance(TimeSpan.FromSeconds(20));

        var replay = await service.RefreshAsync(pair.RefreshToken);

        replay.Status.Should().Be(RefreshStatus.Rotated);
        replay.Tokens!.RefreshToken.Should().Be(rotated.Tokens!.RefreshToken, "the lost response is re-created from the stored row");
        replay.Tokens.AccessToken.Should().NotBe(rotated.Tokens.AccessToken);
        replay.Tokens.SessionId.Should().Be(pair.SessionId);
        (await service.ListSessionsAsync(user)).Should().ContainSingle();
        (await service.RefreshAsync(replay.Tokens.RefreshToken)).Status.Should().Be(RefreshStatus.Rotated);
        (await ReadAuditAsync(user)).Select(a => a.EventType).Should().NotContain(AuditEventTypes.TokenReuseAttack);
    }

    [Fact]
    public async Task RefreshAsync_PredecessorAfterGracePeriod_IsReuse()
    {
        var service = Service(o => o.ReuseGracePeriod = TimeSpan.FromSeconds(30));
        var pair = await service.IssueAsync(NewUser());
        await service.RefreshAsync(pair.RefreshToken);
        Time.Advance(TimeSpan.FromSeconds(30));

        (await service.RefreshAsync(pair.RefreshToken)).Status.Should().Be(RefreshStatus.ReuseDetected);
    }

    [Fact]
    public async Task RefreshAsync_PredecessorAfterSuccessorWasUsed_IsReuseEvenWithinGracePeriod()
    {
        var service = Service(o => o.ReuseGracePeriod = TimeSpan.FromSeconds(30));
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        var second = await service.RefreshAsync(pair.RefreshToken);
        var third = await service.RefreshAsync(second.Tokens!.RefreshToken);

        (await service.RefreshAsync(pair.RefreshToken)).Status.Should().Be(RefreshStatus.ReuseDetected, "older than the immediate predecessor");
        (await service.RefreshAsync(third.Tokens!.RefreshToken)).Status.Should().Be(RefreshStatus.Revoked);
    }

    [Fact]
    public async Task RefreshAsync_GenuineTokenUnknownToStore_ReturnsInvalid()
    {
        var service = Service();
        var foreign = service.Codec.CreateRefreshToken(new RefreshTokenContent(Guid.NewGuid(), NewUser(), Guid.NewGuid(), TestSetup.Start, TestSetup.Start.AddDays(1)));

        var result = await service.RefreshAsync(foreign);

        result.Status.Should().Be(RefreshStatus.Invalid);
        result.ErrorCode.Should().Be("INVALID_TOKEN", "the original API's code for a token it does not know");
    }

    [Fact]
    public async Task LogoutAsync_Twice_RevokesOnceAndAuditsBoth()
    {
        var service = Service();
        var user = NewUser();
        var pair = await service.IssueAsync(user);

        (await service.LogoutAsync(pair.RefreshToken, Browser)).Should().Be(LogoutResult.SessionRevoked);
        (await service.LogoutAsync(pair.RefreshToken)).Should().Be(LogoutResult.AlreadyEnded);
        (await service.LogoutAsync("garbage")).Should().Be(LogoutResult.Invalid);

        var logouts = (await ReadAuditAsync(user)).Where(a => a.EventType == AuditEventTypes.Logout).ToList();
        logouts.Select(a => a.Details["revoked_count"]).Should().Equal("1", "0");
        logouts[0].IpAddress.Should().Be("203.0.113.7");
        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeFalse();
    }

    [Theory]
    [InlineData(TokenReusePolicy.RevokeAllUserSessions, 2)]
    [InlineData(TokenReusePolicy.RevokeSession, 1)]
    public async Task LogoutAsync_WithRotatedAwayToken_IsReuseAndAppliesThePolicy(TokenReusePolicy policy, int revokedSessions)
    {
        var service = Service(o => o.ReusePolicy = policy);
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        var other = await service.IssueAsync(user);
        var rotated = await service.RefreshAsync(pair.RefreshToken);

        (await service.LogoutAsync(pair.RefreshToken, new SessionContext("192.0.2.66", "curl/8"))).Should().Be(LogoutResult.ReuseDetected);

        (await service.RefreshAsync(rotated.Tokens!.RefreshToken)).Status.Should().Be(RefreshStatus.Revoked, "the live chain ends with the reuse");
        (await service.IsSessionActiveAsync(other.SessionId)).Should().Be(policy == TokenReusePolicy.RevokeSession);
        var attack = (await ReadAuditAsync(user)).Should().ContainSingle(a => a.EventType == AuditEventTypes.TokenReuseAttack).Subject;
        attack.IpAddress.Should().Be("192.0.2.66");
        attack.Details["via"].Should().Be("logout");
        attack.Details["revoked_sessions"].Should().Be(revokedSessions.ToString(System.Globalization.CultureInfo.InvariantCulture));
        (await ReadAuditAsync(user)).Should().NotContain(a => a.EventType == AuditEventTypes.Logout, "the reuse signal is not hidden behind a logout");
    }

    [Fact]
    public async Task LogoutAsync_WithPredecessorInsideGraceWindow_LogsTheSessionOut()
    {
        var service = Service(o => o.ReuseGracePeriod = TimeSpan.FromSeconds(30));
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        var other = await service.IssueAsync(user);
        await service.RefreshAsync(pair.RefreshToken);
        Time.Advance(TimeSpan.FromSeconds(10));

        (await service.LogoutAsync(pair.RefreshToken)).Should().Be(LogoutResult.SessionRevoked);

        (await service.ListSessionsAsync(user)).Select(s => s.SessionId).Should().Equal(other.SessionId);
        (await ReadAuditAsync(user)).Should().NotContain(a => a.EventType == AuditEventTypes.TokenReuseAttack);
    }

    [Fact]
    public async Task LogoutAsync_WithExpiredToken_ChangesNothing()
    {
        var service = Service();
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        Time.Advance(TimeSpan.FromDays(6));
        var rotated = await service.RefreshAsync(pair.RefreshToken);
        Time.Advance(TimeSpan.FromDays(2));

        (await service.LogoutAsync(pair.RefreshToken)).Should().Be(LogoutResult.AlreadyEnded);

        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue("an expired token proves nothing about the live session");
        (await service.RefreshAsync(rotated.Tokens!.RefreshToken)).Status.Should().Be(RefreshStatus.Rotated);
        (await ReadAuditAsync(user)).Select(a => a.EventType).Should().Equal(AuditEventTypes.Login);
    }

    [Fact]
    public async Task RefreshAsync_ReplayInsideGraceWindow_WritesGraceReplayAudit()
    {
        var service = Service(o => o.ReuseGracePeriod = TimeSpan.FromSeconds(30));
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        var rotated = await service.RefreshAsync(pair.RefreshToken);

        var replay = await service.RefreshAsync(pair.RefreshToken, new SessionContext("198.51.100.9", "tab-2"));

        replay.Tokens!.RefreshToken.Should().Be(rotated.Tokens!.RefreshToken);
        var grace = (await ReadAuditAsync(user)).Should().ContainSingle(a => a.EventType == AuditEventTypes.TokenGraceReplay).Subject;
        grace.IpAddress.Should().Be("198.51.100.9");
        grace.Details["session_id"].Should().Be(pair.SessionId.ToString());
        grace.Details["token_id"].Should().Be(JwtTokenId(service, pair.RefreshToken));
        grace.Details["successor_token_id"].Should().Be(JwtTokenId(service, rotated.Tokens.RefreshToken));
        grace.Details["user_agent"].Should().Be("tab-2");
    }

    [Fact]
    public async Task RevokeSessionAsync_OwnAndForeignSessions_RevokesOnlyOwn()
    {
        var service = Service();
        var user = NewUser();
        var mine = await service.IssueAsync(user);
        var theirs = await service.IssueAsync(NewUser());

        (await service.RevokeSessionAsync(user, theirs.SessionId)).Should().BeFalse();
        (await service.RevokeSessionAsync(user, mine.SessionId)).Should().BeTrue();

        (await service.IsSessionActiveAsync(theirs.SessionId)).Should().BeTrue();
        (await service.RefreshAsync(mine.RefreshToken)).Status.Should().Be(RefreshStatus.Revoked);
        (await ReadAuditAsync(user)).Where(a => a.EventType == AuditEventTypes.SessionRevoked)
            .Select(a => a.Details["revoked_count"]).Should().Equal("0", "1");
    }

    [Fact]
    public async Task RevokeAllSessionsAsync_ExceptCurrent_ReturnsCountAndKeepsCurrent()
    {
        var service = Service();
        var user = NewUser();
        var current = await service.IssueAsync(user);
        var a = await service.IssueAsync(user);
        await service.IssueAsync(user);
        await service.RefreshAsync(a.RefreshToken);

        var count = await service.RevokeAllSessionsAsync(user, current.SessionId, Browser);

        count.Should().Be(2);
        (await service.ListSessionsAsync(user)).Select(s => s.SessionId).Should().Equal(current.SessionId);
        (await service.RevokeAllSessionsAsync(user)).Should().Be(1);
        (await service.ListSessionsAsync(user)).Should().BeEmpty();
        (await ReadAuditAsync(user)).Where(e => e.EventType == AuditEventTypes.LogoutAll)
            .Select(e => e.Details["revoked_count"]).Should().Equal("2", "1");
    }

    [Fact]
    public async Task RevokeAllSessionsAsync_SessionExpiringMeanwhile_IsEndedSoALateRotationFails()
    {
        // Two instances whose clocks are two seconds apart: the later one sees the token as expired, the earlier one
        // still rotates it. The revocation must end the session anyway (it counts only the sessions that were active).
        var early = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TestSetup.Start);
        var late = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TestSetup.Start.AddSeconds(2));
        var onEarly = TestSetup.Service(Store, early, o => o.RefreshTokenLifetime = TimeSpan.FromSeconds(1));
        var onLate = TestSetup.Service(Store, late, o => o.RefreshTokenLifetime = TimeSpan.FromSeconds(1));
        var user = NewUser();
        var pair = await onEarly.IssueAsync(user);

        (await onLate.RevokeAllSessionsAsync(user)).Should().Be(0, "on the later clock the session had already expired");

        (await onEarly.RefreshAsync(pair.RefreshToken)).Status.Should().Be(RefreshStatus.Revoked);
        (await onEarly.IsSessionActiveAsync(pair.SessionId)).Should().BeFalse();
    }

    [Fact]
    public async Task ListSessionsAsync_RotatedSessions_ListsOneEntryPerSessionNewestFirst()
    {
        var service = Service();
        var user = NewUser();
        var first = await service.IssueAsync(user);
        Time.Advance(TimeSpan.FromMinutes(1));
        var second = await service.IssueAsync(user);
        var token = second.RefreshToken;
        for (var i = 0; i < 3; i++)
        {
            Time.Advance(TimeSpan.FromMinutes(10));
            token = (await service.RefreshAsync(token)).Tokens!.RefreshToken;
        }

        var sessions = await service.ListSessionsAsync(user);

        sessions.Select(s => s.SessionId).Should().Equal(second.SessionId, first.SessionId);
        sessions[0].CreatedAt.Should().Be(TestSetup.Start.AddMinutes(1));
        sessions[0].LastUsedAt.Should().Be(TestSetup.Start.AddMinutes(31));
    }

    [Fact]
    public async Task IsSessionActiveAsync_RevokedElsewhere_IsCachedOnlyForTheCacheDuration()
    {
        var service = Service(o => o.SessionCheckCacheDuration = TimeSpan.FromSeconds(5));
        var otherInstance = Service();
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue();

        await otherInstance.RevokeSessionAsync(user, pair.SessionId);

        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue("the answer is cached for 5 seconds");
        Time.Advance(TimeSpan.FromSeconds(5));
        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeFalse();
    }

    [Fact]
    public async Task IsSessionActiveAsync_RevokedThroughSameInstance_IsFalseAtOnce()
    {
        var service = Service(o => o.SessionCheckCacheDuration = TimeSpan.FromMinutes(1));
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue();

        await service.RevokeAllSessionsAsync(user);

        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeFalse();
    }

    [Fact]
    public async Task CleanupAsync_TokensExpiredBeyondRetention_AreDeletedInBatches()
    {
        var service = Service(o => o.CleanupBatchSize = 2);
        var user = NewUser();
        var rotated = await service.IssueAsync(user);
        await service.RefreshAsync(rotated.RefreshToken);
        for (var i = 0; i < 3; i++)
        {
            await service.IssueAsync(user);
        }

        Time.Advance(TimeSpan.FromDays(7 + 29));
        var fresh = await service.IssueAsync(user);
        (await service.CleanupAsync()).Should().Be(new TokenCleanupResult(0, 0, 0), "nothing expired more than 30 days ago yet");
        Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));

        var deleted = await service.CleanupAsync();

        deleted.Should().Be(new TokenCleanupResult(Tokens: 5, Sessions: 4, AuditRows: 0));
        (await ReadTokensAsync()).Should().ContainSingle().Which.SessionId.Should().Be(fresh.SessionId);
        (await service.ListSessionsAsync(user)).Should().ContainSingle().Which.SessionId.Should().Be(fresh.SessionId);
    }

    [Fact]
    public async Task CleanupAsync_AuditRowsBeyondRetention_AreDeletedInBatches()
    {
        var service = Service(o =>
        {
            o.CleanupBatchSize = 2;
            o.AuditRetention = TimeSpan.FromDays(2);
        });
        var user = NewUser();
        for (var i = 0; i < 3; i++)
        {
            await service.IssueAsync(user);
        }

        Time.Advance(TimeSpan.FromDays(1));
        await service.RevokeAllSessionsAsync(user);
        Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));

        (await service.CleanupAsync()).AuditRows.Should().Be(3, "the three logins are older than two days");

        (await ReadAuditAsync(user)).Select(a => a.EventType).Should().Equal(AuditEventTypes.LogoutAll);
    }

    [Fact]
    public async Task RefreshAsync_ManyConcurrentRefreshesOfOneToken_ExactlyOneRotates()
    {
        var service = Service();
        var user = NewUser();
        var pair = await service.IssueAsync(user);
        using var start = new ManualResetEventSlim();

        var tasks = Enumerable.Range(0, 100).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await service.RefreshAsync(pair.RefreshToken);
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(tasks);

        results.Count(r => r.Status == RefreshStatus.Rotated).Should().Be(1);
        results.Where(r => r.Status != RefreshStatus.Rotated).Should().AllSatisfy(r => r.Status.Should().Be(RefreshStatus.ReuseDetected));
        var tokens = await ReadTokensAsync();
        tokens.Where(t => !t.Revoked).GroupBy(t => t.SessionId).Where(g => g.Count() > 1).Should().BeEmpty("no session has two active tokens");
        var ids = tokens.Select(t => t.TokenId).ToHashSet();
        var rotatedAway = tokens.Where(t => t.RevokeReason == RevokeReasons.Rotated).ToList();
        rotatedAway.Should().ContainSingle().Which.TokenId.Should().Be(Guid.Parse(JwtTokenId(service, pair.RefreshToken)));
        rotatedAway.Where(t => t.RevokedByTokenId is not { } successor || !ids.Contains(successor))
            .Should().BeEmpty("no token is rotated away without a stored successor");
        tokens.Where(t => t.SessionId == pair.SessionId).Should().HaveCount(2, "exactly one rotation happened");
        tokens.Where(t => t.SessionId == pair.SessionId).Should().OnlyContain(t => t.Revoked, "the reuse response revoked the session");
    }

    [Fact]
    public async Task RefreshAsync_ManyConcurrentRefreshesWithGrace_AllGetTheSameSuccessor()
    {
        var service = Service(o => o.ReuseGracePeriod = TimeSpan.FromSeconds(10));
        var user = NewUser();
        var pair = await service.IssueAsync(user);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => service.RefreshAsync(pair.RefreshToken))));

        results.Should().AllSatisfy(r => r.Status.Should().Be(RefreshStatus.Rotated));
        results.Select(r => r.Tokens!.RefreshToken).Distinct().Should().ContainSingle("the session did not fork");
        (await ReadTokensAsync()).Where(t => t.SessionId == pair.SessionId).Should().HaveCount(2);
    }

    private static string JwtTokenId(RefreshTokenManager service, string refreshToken) =>
        service.Codec.ReadRefreshToken(refreshToken, TestSetup.Start).Content.TokenId.ToString();
}
