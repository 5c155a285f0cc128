using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>Validates <see cref="TokenRotationEndpointOptions"/>, reporting every problem at once, each naming its option.</summary>
internal sealed class TokenRotationEndpointOptionsValidator : IValidateOptions<TokenRotationEndpointOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenRotationEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Prefix = nameof(TokenRotationEndpointOptions) + ".";
        var errors = new List<string>();
        if (!Enum.IsDefined(options.ErrorFormat))
        {
            errors.Add($"{Prefix}{nameof(options.ErrorFormat)} must be ProblemDetails or Envelope; got {(int)options.ErrorFormat}.");
        }

        if (!Enum.IsDefined(options.RefreshTokenTransport))
        {
            errors.Add($"{Prefix}{nameof(options.RefreshTokenTransport)} must be Body or Cookie; got {(int)options.RefreshTokenTransport}.");
        }

        if (!IsToken(options.CookieName))
        {
            errors.Add($"{Prefix}{nameof(options.CookieName)} must be a non-empty cookie name (letters, digits and !#$%&'*+-.^_`|~); got '{options.CookieName}'.");
        }
        else if (options.CookieName.StartsWith("__Host-", StringComparison.Ordinal) && options.CookiePath != "/")
        {
            errors.Add($"{Prefix}{nameof(options.CookieName)} starts with __Host-, which browsers accept only with Path=/; the cookie is scoped to the token endpoints' path: use the __Secure- prefix, or set {nameof(options.CookiePath)} to \"/\".");
        }

        if (options.CookiePath is { } path && (path.Length == 0 || path[0] != '/' || path.Any(c => c is ';' or ',' or < ' ' or > '~')))
        {
            errors.Add($"{Prefix}{nameof(options.CookiePath)} must start with '/' and contain no ';', ',' or control characters; got '{path}'.");
        }

        if (!IsToken(options.CsrfHeaderName))
        {
            errors.Add($"{Prefix}{nameof(options.CsrfHeaderName)} must be a non-empty header name; got '{options.CsrfHeaderName}'.");
        }

        if (options.RefreshRateLimiterPolicy is { } policy && string.IsNullOrWhiteSpace(policy))
        {
            errors.Add($"{Prefix}{nameof(options.RefreshRateLimiterPolicy)} must be null (no limit) or the name of a rate limiter policy; got an empty name.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    // RFC 9110 token characters: what a cookie name and a header name may contain.
    private static bool IsToken(string? value) =>
        !string.IsNullOrEmpty(value) && value.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal));
}
