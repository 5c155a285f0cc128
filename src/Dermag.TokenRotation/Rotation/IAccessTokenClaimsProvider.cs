using System.Security.Claims;

namespace Dermag.TokenRotation;

/// <summary>Why an access token is being issued.</summary>
public enum AccessTokenIssueReason
{
    /// <summary>A new session (<see cref="IRefreshTokenManager.IssueAsync"/>).</summary>
    Login = 0,

    /// <summary>A rotation (<see cref="IRefreshTokenManager.RefreshAsync"/>).</summary>
    Refresh = 1,
}

/// <summary>Who an access token is being issued for, as handed to <see cref="IAccessTokenClaimsProvider"/>.</summary>
/// <param name="UserId">The user id (<c>sub</c>).</param>
/// <param name="SessionId">The session id (<c>sid</c>).</param>
/// <param name="Reason">Login or refresh.</param>
public sealed record AccessTokenClaimsContext(string UserId, Guid SessionId, AccessTokenIssueReason Reason);

/// <summary>
/// Supplies the current claims of a user (roles, tenant, ...) whenever an access token is issued, at login and at every
/// refresh, so a change such as a revoked role takes effect at the next refresh without the app passing claims again
/// (the role IdentityServer's profile service plays). Register with <c>AddClaimsProvider&lt;T&gt;()</c>; it is resolved
/// from a new DI scope per token, so it may depend on scoped services such as a <c>DbContext</c>. Claims passed per call
/// are added to the provider's. On refresh it runs after the presented token is verified and before it is rotated, so a
/// provider that throws leaves the session unchanged.
/// </summary>
public interface IAccessTokenClaimsProvider
{
    /// <summary>The claims to put into the access token; registered claim names (<c>sub</c>, <c>sid</c>, <c>exp</c>, ...) are refused.</summary>
    ValueTask<IEnumerable<Claim>> GetClaimsAsync(AccessTokenClaimsContext context, CancellationToken cancellationToken);
}

/// <summary>Registered by <c>AddClaimsProvider&lt;T&gt;()</c>: tells the token service to resolve providers at all.</summary>
internal sealed class ClaimsProviderRegistration;
