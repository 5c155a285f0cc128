namespace Dermag.TokenRotation;

/// <summary>
/// The <c>details</c> of each audit row, built once for both stores (PostgreSQL writes them as <c>jsonb</c>). Ids, counts
/// and the user agent only: never a token or a hash.
/// </summary>
internal static class AuditDetails
{
    /// <summary>The key under which revocations record how many sessions they ended.</summary>
    public const string RevokedCount = "revoked_count";

    /// <summary>The key under which a reuse response records how many sessions it ended.</summary>
    public const string RevokedSessions = "revoked_sessions";

    public static KeyValuePair<string, object?>[] Login(StoredRefreshToken token, SessionContext context) =>
        [new("session_id", token.SessionId), new("token_id", token.TokenId), new("user_agent", context.UserAgent)];

    public static KeyValuePair<string, object?>[] Logout(LogoutRequest request) =>
        [new("session_id", request.SessionId), new("token_id", request.TokenId), new("user_agent", request.Context.UserAgent)];

    public static KeyValuePair<string, object?>[] Revocation(RevocationRequest request) =>
        [new("session_id", request.SessionId), new("except_session_id", request.ExceptSessionId), new("user_agent", request.Context.UserAgent)];

    /// <summary>A reuse response; <paramref name="via"/> says what presented the token: <c>refresh</c> or <c>logout</c>.</summary>
    public static KeyValuePair<string, object?>[] Reuse(Guid sessionId, Guid tokenId, SessionContext context, TokenReusePolicy policy, string via) =>
        [new("session_id", sessionId), new("token_id", tokenId), new("user_agent", context.UserAgent), new("policy", SessionRules.PolicyName(policy)), new("via", via)];

    public static KeyValuePair<string, object?>[] GraceReplay(RotationRequest request, Guid successorId) =>
        [new("session_id", request.SessionId), new("token_id", request.TokenId), new("successor_token_id", successorId), new("user_agent", request.Context.UserAgent)];

    /// <summary>The details as a JSON object text (values are strings, uuids as text, numbers as numbers).</summary>
    public static string ToJson(IEnumerable<KeyValuePair<string, object?>> details)
    {
        var json = new System.Text.Json.Nodes.JsonObject();
        foreach (var (key, value) in details)
        {
            json[key] = value switch
            {
                null => null,
                int i => i,
                Guid g => g.ToString(),
                _ => value.ToString(),
            };
        }

        return json.ToJsonString();
    }
}
