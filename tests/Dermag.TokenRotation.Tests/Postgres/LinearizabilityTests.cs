using CsCheck;
using Dermag.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Dermag.TokenRotation.Tests.Postgres;

/// <summary>
/// The token store's concurrent operations, checked for linearizability against a sequential model with CsCheck's
/// parallel sampling on PostgreSQL: random operations run on real threads, and the sessions left active must equal what
/// some sequential order of the same operations leaves in the model. A revocation that loses against a rotation (the race
/// class of Keycloak CVE-2026-1035) leaves a session active that no sequential order can leave active.
/// <c>DERMAG_LINEARIZABILITY_ITER</c> raises the number of samples.
/// </summary>
public sealed class LinearizabilityTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private const int Sessions = 3;
    private static readonly long Iterations = long.TryParse(Environment.GetEnvironmentVariable("DERMAG_LINEARIZABILITY_ITER"), out var n) ? n : 150;
    private readonly string _schema = "lin_" + Guid.NewGuid().ToString("N")[..12];
    private PostgresRefreshTokenStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = await TestSetup.MigratedStoreAsync(database.DataSource, _schema);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public void ConcurrentRotationRevocationAndReuse_AreLinearizable()
    {
        var service = TestSetup.Service(_store, new FakeTimeProvider(TestSetup.Start), o => o.SessionCheckCacheDuration = TimeSpan.Zero);
        var initial = Gen.Int.Select(_ => (Actual.Create(service), new Model()));

        initial.SampleParallel(
            [
                Gen.Int[0, Sessions - 1].Operation<Actual, Model>(i => $"Rotate({i})", (a, i) => a.Rotate(i), (m, i) => m.Rotate(i)),
                Gen.Int[0, Sessions - 1].Operation<Actual, Model>(i => $"Steal({i})", (a, i) => a.Steal(i), (m, i) => m.Steal(i)),
                Gen.Int[0, Sessions - 1].Operation<Actual, Model>(i => $"Logout({i})", (a, i) => a.Logout(i), (m, i) => m.Logout(i)),
                Gen.Int[0, Sessions - 1].Operation<Actual, Model>(i => $"RevokeSession({i})", (a, i) => a.RevokeSession(i), (m, i) => m.RevokeSession(i)),
                Gen.Const(0).Operation<Actual, Model>(_ => "RevokeAll", (a, _) => a.RevokeAll(), (m, _) => m.RevokeAll()),
            ],
            equal: (a, m) => a.ActiveSessions().SequenceEqual(m.Active),
            maxSequentialOperations: 4,
            maxParallelOperations: 4,
            iter: Iterations,
            threads: 1,
            printActual: a => string.Join(",", a.ActiveSessions()),
            printModel: m => string.Join(",", m.Active));
    }

    /// <summary>
    /// One user with three sessions. A client per session refreshes and logs out with its latest token (one request at a
    /// time per client, as a browser tab does); an attacker holds each session's first token.
    /// </summary>
    public sealed class Actual
    {
        private readonly RefreshTokenManager _service;
        private readonly string _user;
        private readonly Guid[] _sessions;
        private readonly string[] _first;
        private readonly string[] _latest;
        private readonly Lock[] _clients = [.. Enumerable.Range(0, Sessions).Select(_ => new Lock())];

        private Actual(RefreshTokenManager service, string user, TokenPair[] pairs)
        {
            _service = service;
            _user = user;
            _sessions = [.. pairs.Select(p => p.SessionId)];
            _first = [.. pairs.Select(p => p.RefreshToken)];
            _latest = [.. _first];
        }

        internal static Actual Create(RefreshTokenManager service)
        {
            var user = "lin-" + Guid.NewGuid().ToString("N")[..10];
            var pairs = Enumerable.Range(0, Sessions).Select(_ => service.IssueAsync(user).GetAwaiter().GetResult()).ToArray();
            return new Actual(service, user, pairs);
        }

        public void Rotate(int i)
        {
            lock (_clients[i])
            {
                var result = _service.RefreshAsync(_latest[i]).GetAwaiter().GetResult();
                if (result.Succeeded)
                {
                    _latest[i] = result.Tokens.RefreshToken;
                }
            }
        }

        public void Steal(int i) => _service.RefreshAsync(_first[i]).GetAwaiter().GetResult();

        public void Logout(int i)
        {
            lock (_clients[i])
            {
                _service.LogoutAsync(_latest[i]).GetAwaiter().GetResult();
            }
        }

        public void RevokeSession(int i) => _service.RevokeSessionAsync(_user, _sessions[i]).GetAwaiter().GetResult();

        public void RevokeAll() => _service.RevokeAllSessionsAsync(_user).GetAwaiter().GetResult();

        public bool[] ActiveSessions() => [.. _sessions.Select(s => _service.IsSessionActiveAsync(s).AsTask().GetAwaiter().GetResult())];
    }

    /// <summary>What the README's table says each operation does, applied one at a time.</summary>
    public sealed class Model
    {
        public bool[] Active { get; } = [.. Enumerable.Repeat(true, Sessions)];

        /// <summary>The session's first token is no longer its current token (the attacker's replay is reuse).</summary>
        private readonly bool[] _firstRotatedAway = new bool[Sessions];

        /// <summary>The attacker rotated the client's current token away: the client's next request is reuse.</summary>
        private readonly bool[] _clientStale = new bool[Sessions];

        public void Rotate(int i)
        {
            if (_clientStale[i])
            {
                RevokeAll(); // reuse response, default policy
            }
            else if (Active[i])
            {
                _firstRotatedAway[i] = true;
            }
        }

        public void Steal(int i)
        {
            if (_firstRotatedAway[i])
            {
                RevokeAll();
            }
            else if (Active[i])
            {
                _firstRotatedAway[i] = true;
                _clientStale[i] = true;
            }
        }

        public void Logout(int i)
        {
            if (_clientStale[i])
            {
                RevokeAll();
            }
            else
            {
                Active[i] = false;
            }
        }

        public void RevokeSession(int i) => Active[i] = false;

        public void RevokeAll() => Array.Fill(Active, false);
    }
}
