using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation.AspNetCore;

/// <summary>Validates <see cref="TokenRotationBearerOptions"/>, naming the option.</summary>
internal sealed class TokenRotationBearerOptionsValidator : IValidateOptions<TokenRotationBearerOptions>
{
    public ValidateOptionsResult Validate(string? name, TokenRotationBearerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Enum.IsDefined(options.ErrorFormat)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{nameof(TokenRotationBearerOptions)}.{nameof(options.ErrorFormat)} ('{name}' scheme) must be ProblemDetails or Envelope; got {(int)options.ErrorFormat}.");
    }
}
