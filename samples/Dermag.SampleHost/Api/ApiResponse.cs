namespace Dermag.SampleHost.Api;

/// <summary>The original system's response envelope: <c>{ success, data, message, code }</c>.</summary>
/// <param name="Success">Whether the request succeeded.</param>
/// <param name="Data">The payload, when there is one.</param>
/// <param name="Message">A human-readable message.</param>
/// <param name="Code">A machine-readable error code, for example <c>TOKEN_REUSE_ATTACK</c>.</param>
public sealed record ApiResponse(bool Success, object? Data, string? Message, string? Code)
{
    public static ApiResponse Ok(object? data, string? message = null) => new(true, data, message, null);

    public static ApiResponse Fail(string code, string message, object? data = null) => new(false, data, message, code);
}

/// <summary>
/// The sample's own error codes in <see cref="ApiResponse.Code"/>; the token codes (<c>TOKEN_REUSE_ATTACK</c>,
/// <c>TOKEN_EXPIRED</c>, ...) come from the token endpoints and bearer answers of Dermag.TokenRotation.AspNetCore
/// (<see cref="Dermag.TokenRotation.AspNetCore.TokenRotationErrorCodes"/>).
/// </summary>
public static class ErrorCodes
{
    public const string InvalidCredentials = "INVALID_CREDENTIALS";
    public const string ValidationFailed = "VALIDATION_ERROR";
    public const string NotFound = "NOT_FOUND";
    public const string RateLimited = "RATE_LIMITED";
}

/// <summary>Shortcuts that wrap results in the envelope.</summary>
public static class Envelope
{
    public static IResult Ok(object? data, string? message = null) => Results.Ok(ApiResponse.Ok(data, message));

    public static IResult Created(string location, object? data, string? message = null) => Results.Created(location, ApiResponse.Ok(data, message));

    public static IResult Fail(int statusCode, string code, string message, object? data = null) =>
        Results.Json(ApiResponse.Fail(code, message, data), statusCode: statusCode);

    public static IResult NotFound(string message) => Fail(StatusCodes.Status404NotFound, ErrorCodes.NotFound, message);

    public static IResult Invalid(string message, object? errors = null) =>
        Fail(StatusCodes.Status400BadRequest, ErrorCodes.ValidationFailed, message, errors is null ? null : new { errors });
}
