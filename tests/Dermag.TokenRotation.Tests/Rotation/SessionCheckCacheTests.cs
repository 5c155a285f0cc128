namespace Dermag.TokenRotation.Tests.Rotation;

/// <summary>The paranoid-mode cache must never bring back an answer that a revocation has made stale.</summary>
public sealed class SessionCheckCacheTests
{
    [Fact]
    public async Task IsSessionActiveAsync_CheckInFlightDuringRevocation_DoesNotCacheTheStaleAnswer()
    {
        var time = TestSetup.Clock();
        var store = new GatedStore(new InMemoryRefreshTokenStore());
        var service = TestSetup.Service(store, time, o => o.SessionCheckCacheDuration = TimeSpan.FromMinutes(1));
        var pair = await service.IssueAsync("cache-user");

        // A check reads "active" from the store and is held before it can store the answer in the cache.
        store.HoldNextCheck();
        var inFlight = service.IsSessionActiveAsync(pair.SessionId).AsTask();
        await store.CheckRead;

        (await service.RevokeSessionAsync("cache-user", pair.SessionId)).Should().BeTrue();
        store.ReleaseCheck();
        (await inFlight).Should().BeTrue("it read the store before the revocation committed");

        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeFalse("the revocation happened after that read, so its answer must not be served from the cache");
    }

    [Fact]
    public async Task IsSessionActiveAsync_Cached_NeverOutlivesTheSessionsCurrentToken()
    {
        var time = TestSetup.Clock();
        var store = new GatedStore(new InMemoryRefreshTokenStore());
        var service = TestSetup.Service(store, time, o =>
        {
            o.SessionCheckCacheDuration = TimeSpan.FromMinutes(5);
            o.RefreshTokenLifetime = TimeSpan.FromMinutes(2);
        });
        var pair = await service.IssueAsync("cache-user");
        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue();

        time.Advance(TimeSpan.FromMinutes(2));

        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeFalse("the refresh token expired before the cache entry would have");
        store.Checks.Should().Be(2);
    }

    [Fact]
    public async Task IsSessionActiveAsync_Cached_ServesTheCacheUntilItExpires()
    {
        var time = TestSetup.Clock();
        var store = new GatedStore(new InMemoryRefreshTokenStore());
        var service = TestSetup.Service(store, time, o => o.SessionCheckCacheDuration = TimeSpan.FromSeconds(5));
        var pair = await service.IssueAsync("cache-user");

        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue();
        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue();
        store.Checks.Should().Be(1, "the second answer comes from the cache");

        time.Advance(TimeSpan.FromSeconds(5));
        (await service.IsSessionActiveAsync(pair.SessionId)).Should().BeTrue();
        store.Checks.Should().Be(2, "the entry expired");
    }

    /// <summary>Delegates to a real store and can hold one session check after it has read its answer.</summary>
    private sealed class GatedStore(IRefreshTokenStore inner) : IRefreshTokenStore
    {
        private TaskCompletionSource? _read;
        private TaskCompletionSource? _release;
        private TaskCompletionSource? _held;

        public int Checks { get; private set; }

        public Task CheckRead => _read!.Task;

        public void HoldNextCheck()
        {
            _read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _held = _release;
        }

        public void ReleaseCheck() => _held!.TrySetResult();

        public async Task<DateTimeOffset?> GetSessionActiveUntilAsync(Guid sessionId, DateTimeOffset now, CancellationToken cancellationToken)
        {
            Checks++;
            var active = await inner.GetSessionActiveUntilAsync(sessionId, now, cancellationToken);
            if (_release is { } release)
            {
                _release = null;
                _read!.TrySetResult();
                await release.Task;
            }

            return active;
        }

        public Task CreateSessionAsync(StoredRefreshToken token, SessionContext context, CancellationToken cancellationToken) => inner.CreateSessionAsync(token, context, cancellationToken);

        public Task<RotationOutcome> RotateAsync(RotationRequest request, CancellationToken cancellationToken) => inner.RotateAsync(request, cancellationToken);

        public Task<LogoutOutcome> LogoutAsync(LogoutRequest request, CancellationToken cancellationToken) => inner.LogoutAsync(request, cancellationToken);

        public Task<RevocationOutcome> RevokeAsync(RevocationRequest request, CancellationToken cancellationToken) => inner.RevokeAsync(request, cancellationToken);

        public Task<IReadOnlyList<SessionInfo>> ListActiveSessionsAsync(string userId, DateTimeOffset now, CancellationToken cancellationToken) => inner.ListActiveSessionsAsync(userId, now, cancellationToken);

        public Task<int> DeleteExpiredAsync(CleanupTarget target, DateTimeOffset before, int batchSize, CancellationToken cancellationToken) => inner.DeleteExpiredAsync(target, before, batchSize, cancellationToken);
    }
}
