using System.Globalization;
using Dermag.TokenRotation.Tests.Storage;

namespace Dermag.TokenRotation.Tests.InMemory;

public sealed class InMemoryTokenStoreTests : TokenStoreContractTests
{
    private readonly InMemoryRefreshTokenStore _store = new();

    private protected override Task<IRefreshTokenStore> CreateStoreAsync() => Task.FromResult<IRefreshTokenStore>(_store);

    protected override Task<IReadOnlyList<AuditRow>> ReadAuditAsync(string userId) =>
        Task.FromResult<IReadOnlyList<AuditRow>>([.. _store.AuditSnapshot()
            .Where(a => a.UserId == userId)
            .Select(a => new AuditRow(a.EventType, a.UserId, a.IpAddress, a.Details.ToDictionary(d => d.Key, d => d.Value is null ? null : Convert.ToString(d.Value, CultureInfo.InvariantCulture))))]);

    protected override Task<IReadOnlyList<TokenRow>> ReadTokensAsync() =>
        Task.FromResult<IReadOnlyList<TokenRow>>([.. _store.TokenSnapshot()
            .Select(r => new TokenRow(r.TokenId, r.UserId, r.SessionId, r.ParentTokenId, r.Revoked, r.RevokeReason, r.RevokedByTokenId))]);
}
