namespace Dermag.TokenRotation.AspNetCore;

/// <summary>How the bearer challenge and the token endpoints write error bodies.</summary>
public enum TokenRotationErrorFormat
{
    /// <summary>
    /// RFC 9457 problem details (<c>application/problem+json</c>) with <c>status</c>, <c>title</c>, <c>detail</c> and an extension
    /// member <c>code</c> holding the library code (for example <c>TOKEN_REUSE_ATTACK</c>). Written through the app's
    /// <c>IProblemDetailsService</c> when it registered one (<c>AddProblemDetails()</c>), so its customizations apply.
    /// Success bodies are the bare payload.
    /// </summary>
    ProblemDetails = 0,

    /// <summary>
    /// The original system's envelope: <c>{ "success": false, "data": null, "message": "...", "code": "TOKEN_REUSE_ATTACK" }</c>;
    /// success bodies are <c>{ "success": true, "data": { ... }, "message": "..." }</c>.
    /// </summary>
    Envelope = 1,
}
