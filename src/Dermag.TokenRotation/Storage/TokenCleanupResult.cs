namespace Dermag.TokenRotation;

/// <summary>What <see cref="IRefreshTokenManager.CleanupAsync"/> deleted.</summary>
/// <param name="Tokens">Refresh tokens that expired more than <see cref="RefreshTokenRotationOptions.CleanupRetention"/> ago.</param>
/// <param name="Sessions">Sessions whose last token expired more than <see cref="RefreshTokenRotationOptions.CleanupRetention"/> ago.</param>
/// <param name="AuditRows">Audit rows older than <see cref="RefreshTokenRotationOptions.AuditRetention"/>.</param>
public sealed record TokenCleanupResult(int Tokens, int Sessions, int AuditRows);
