using System.Security.Cryptography;
using System.Text;

namespace Dermag.TokenRotation.AspNetCore.Tests.Infrastructure;

/// <summary>JWTs written by hand, so a test can forge exactly the token an attacker would send.</summary>
internal static class HandMadeJwt
{
    /// <summary>The access signing key <see cref="TestApp"/> configures (kid <c>access-1</c>).</summary>
    public static byte[] AccessKey { get; } = [.. Enumerable.Range(0, 32).Select(i => (byte)(i + 1))];

    /// <summary>An HS256 JWT of <paramref name="header"/> and <paramref name="payload"/> signed with <paramref name="key"/>.</summary>
    public static string Create(string header, string payload, byte[] key)
    {
        var input = Base64Url(Encoding.UTF8.GetBytes(header)) + "." + Base64Url(Encoding.UTF8.GetBytes(payload));
        return input + "." + Base64Url(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(input)));
    }

    /// <summary>The payload of one of <see cref="TestApp"/>'s access tokens with the given expiry (unix seconds).</summary>
    public static string AccessPayload(string sub, Guid sessionId, long issuedAt, long expiresAt) =>
        $$"""{"iss":"test-issuer","aud":"test-api","sub":"{{sub}}","jti":"{{Guid.NewGuid()}}","sid":"{{sessionId}}","iat":{{issuedAt}},"exp":{{expiresAt}}}""";

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
