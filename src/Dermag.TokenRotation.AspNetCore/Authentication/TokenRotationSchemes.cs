namespace Dermag.TokenRotation.AspNetCore;

/// <summary>
/// The authentication schemes <c>UseTokenRotation</c> was called for (filled through the options pattern, so calling it twice
/// for one scheme is harmless). The token endpoints authenticate with these schemes only: a token of another scheme (a partner
/// identity provider) naming the same <c>sub</c> is not a user of the token service.
/// </summary>
internal sealed class TokenRotationSchemes
{
    public List<string> Names { get; } = [];
}
