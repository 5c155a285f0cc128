using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Dermag.TokenRotation;

/// <summary>The claims of a refresh token, which are exactly the stored row's ids and times.</summary>
internal readonly record struct RefreshTokenContent(Guid TokenId, string UserId, Guid SessionId, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

internal enum TokenReadStatus
{
    Invalid = 0,
    Valid = 1,
    Expired = 2,
}

internal readonly record struct TokenReadResult(TokenReadStatus Status, RefreshTokenContent Content)
{
    public static readonly TokenReadResult Invalid = new(TokenReadStatus.Invalid, default);
}

/// <summary>
/// Writes and reads compact HS256 JWTs. Hand-written rather than delegated to a general JWT handler so that a refresh
/// token is a pure function of its stored row (the grace window re-creates the same string) and so that untrusted input
/// is only ever character-scanned, Base64url-decoded and MACed before anything parses it: no JSON of an unauthenticated
/// token is read, no algorithm from the header is honoured, and nothing throws.
/// </summary>
internal sealed class JwtCodec
{
    /// <summary>Longer input is rejected before any work; issued refresh tokens are well under 1 KB.</summary>
    public const int MaxTokenLength = 4096;

    private static readonly string[] ReservedClaims = ["iss", "aud", "sub", "jti", "sid", "iat", "nbf", "exp", "typ", "alg", "kid"];

    private readonly string _issuer;
    private readonly string _audience;
    private readonly KeyRing _accessKeys;
    private readonly KeyRing _refreshKeys;
    private readonly TimeSpan _clockSkew;

    public JwtCodec(RefreshTokenRotationOptions options)
    {
        _issuer = options.Issuer ?? throw new ArgumentException("Issuer is required.", nameof(options));
        _audience = options.Audience ?? throw new ArgumentException("Audience is required.", nameof(options));
        _accessKeys = new KeyRing(options.AccessSigningKeys);
        _refreshKeys = new KeyRing(options.RefreshSigningKeys);
        _clockSkew = options.ClockSkew;
    }

    public static DateTimeOffset TruncateToSeconds(DateTimeOffset value) => DateTimeOffset.FromUnixTimeSeconds(value.ToUnixTimeSeconds());

    public string CreateAccessToken(string userId, Guid sessionId, Guid tokenId, DateTimeOffset issuedAt, DateTimeOffset expiresAt, IEnumerable<Claim>? extraClaims)
    {
        var payload = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(payload))
        {
            writer.WriteStartObject();
            WriteStandardClaims(writer, userId, sessionId, tokenId, issuedAt, expiresAt);
            if (extraClaims is not null)
            {
                WriteExtraClaims(writer, extraClaims);
            }

            writer.WriteEndObject();
        }

        return Sign(TokenTypes.AccessToken, _accessKeys.Signing, payload.WrittenSpan);
    }

    public string CreateRefreshToken(RefreshTokenContent content)
    {
        var payload = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(payload))
        {
            writer.WriteStartObject();
            WriteStandardClaims(writer, content.UserId, content.SessionId, content.TokenId, content.IssuedAt, content.ExpiresAt);
            writer.WriteEndObject();
        }

        return Sign(TokenTypes.RefreshToken, _refreshKeys.Signing, payload.WrittenSpan);
    }

    public TokenReadResult ReadRefreshToken(string? token, DateTimeOffset now) => Read(token, TokenTypes.RefreshToken, _refreshKeys, now);

    /// <summary>Reads an access token the same strict way; hosts validate access tokens with JwtBearer, tests use this.</summary>
    public TokenReadResult ReadAccessToken(string? token, DateTimeOffset now) => Read(token, TokenTypes.AccessToken, _accessKeys, now);

    private TokenReadResult Read(string? token, string expectedType, KeyRing keys, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return TokenReadResult.Invalid;
        }

        var firstDot = -1;
        var secondDot = -1;
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            if (c == '.')
            {
                if (firstDot < 0)
                {
                    firstDot = i;
                }
                else if (secondDot < 0)
                {
                    secondDot = i;
                }
                else
                {
                    return TokenReadResult.Invalid;
                }
            }
            else if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return TokenReadResult.Invalid;
            }
        }

        if (firstDot <= 0 || secondDot <= firstDot + 1 || secondDot == token.Length - 1)
        {
            return TokenReadResult.Invalid;
        }

        var signingInput = token.AsSpan(0, secondDot);
        var signatureText = token.AsSpan(secondDot + 1);
        Span<byte> signature = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!TryDecode(signatureText, signature, out var signatureLength) || signatureLength != HMACSHA256.HashSizeInBytes)
        {
            return TokenReadResult.Invalid;
        }

        var input = ArrayPool<byte>.Shared.Rent(signingInput.Length);
        try
        {
            var inputLength = Encoding.ASCII.GetBytes(signingInput, input);
            var verifiedBy = keys.FindVerifyingKey(input.AsSpan(0, inputLength), signature);
            if (verifiedBy is null)
            {
                return TokenReadResult.Invalid;
            }

            // From here on the input is authenticated: it was written by this library with one of our keys.
            return ReadAuthenticated(token.AsSpan(0, firstDot), token.AsSpan(firstDot + 1, secondDot - firstDot - 1), verifiedBy, expectedType, now);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    private TokenReadResult ReadAuthenticated(ReadOnlySpan<char> headerText, ReadOnlySpan<char> payloadText, KeyRing.Entry key, string expectedType, DateTimeOffset now)
    {
        try
        {
            return ReadClaims(headerText, payloadText, key, expectedType, now);
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json parses a string whose bytes are not UTF-8 or that escapes an unpaired surrogate, and throws
            // only when it is read. This library never writes such a claim, so the token is not one of ours (found by fuzzing).
            return TokenReadResult.Invalid;
        }
    }

    private TokenReadResult ReadClaims(ReadOnlySpan<char> headerText, ReadOnlySpan<char> payloadText, KeyRing.Entry key, string expectedType, DateTimeOffset now)
    {
        var header = DecodeJson(headerText);
        if (header is null)
        {
            return TokenReadResult.Invalid;
        }

        using (header)
        {
            var root = header.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || GetString(root, "alg") != TokenTypes.Algorithm
                || GetString(root, "typ") != expectedType
                || GetString(root, "kid") != key.KeyId
                || root.TryGetProperty("crit", out _))
            {
                return TokenReadResult.Invalid;
            }
        }

        var payload = DecodeJson(payloadText);
        if (payload is null)
        {
            return TokenReadResult.Invalid;
        }

        using (payload)
        {
            var root = payload.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || GetString(root, "iss") != _issuer
                || !HasAudience(root, _audience)
                || GetString(root, "sub") is not { Length: > 0 } userId
                || !Guid.TryParse(GetString(root, "jti"), out var tokenId)
                || !Guid.TryParse(GetString(root, "sid"), out var sessionId)
                || !TryGetSeconds(root, "iat", out var issuedAt)
                || !TryGetSeconds(root, "exp", out var expiresAt)
                || issuedAt > now + _clockSkew)
            {
                return TokenReadResult.Invalid;
            }

            var content = new RefreshTokenContent(tokenId, userId, sessionId, issuedAt, expiresAt);
            return new TokenReadResult(now >= expiresAt ? TokenReadStatus.Expired : TokenReadStatus.Valid, content);
        }
    }

    private void WriteStandardClaims(Utf8JsonWriter writer, string userId, Guid sessionId, Guid tokenId, DateTimeOffset issuedAt, DateTimeOffset expiresAt)
    {
        writer.WriteString("iss", _issuer);
        writer.WriteString("aud", _audience);
        writer.WriteString("sub", userId);
        writer.WriteString("jti", tokenId.ToString("D", CultureInfo.InvariantCulture));
        writer.WriteString(TokenTypes.SessionIdClaim, sessionId.ToString("D", CultureInfo.InvariantCulture));
        writer.WriteNumber("iat", issuedAt.ToUnixTimeSeconds());
        writer.WriteNumber("exp", expiresAt.ToUnixTimeSeconds());
    }

    /// <summary>Refuses extra claims that would override the ones the service sets; called before any store change.</summary>
    public static void EnsureNoReservedClaims(IEnumerable<Claim>? claims, string parameterName)
    {
        if (claims?.FirstOrDefault(c => ReservedClaims.Contains(c.Type, StringComparer.Ordinal)) is { } reserved)
        {
            throw new ArgumentException($"The claim '{reserved.Type}' is set by the token service and cannot be passed as an extra claim.", parameterName);
        }
    }

    private static void WriteExtraClaims(Utf8JsonWriter writer, IEnumerable<Claim> claims)
    {
        EnsureNoReservedClaims(claims, nameof(claims));
        foreach (var group in claims.GroupBy(c => c.Type, StringComparer.Ordinal))
        {
            var values = group.Select(c => c.Value).ToList();
            if (values.Count == 1)
            {
                writer.WriteString(group.Key, values[0]);
            }
            else
            {
                writer.WriteStartArray(group.Key);
                foreach (var value in values)
                {
                    writer.WriteStringValue(value);
                }

                writer.WriteEndArray();
            }
        }
    }

    private static string Sign(string type, KeyRing.Entry key, ReadOnlySpan<byte> payloadJson)
    {
        var header = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(header))
        {
            writer.WriteStartObject();
            writer.WriteString("alg", TokenTypes.Algorithm);
            writer.WriteString("kid", key.KeyId);
            writer.WriteString("typ", type);
            writer.WriteEndObject();
        }

        var signingInput = Base64Url.EncodeToString(header.WrittenSpan) + "." + Base64Url.EncodeToString(payloadJson);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key.Key, Encoding.ASCII.GetBytes(signingInput), mac);
        return signingInput + "." + Base64Url.EncodeToString(mac);
    }

    private static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination, out int written)
    {
        written = 0;
        return Base64Url.IsValid(text, out var length)
            && length <= destination.Length
            && Base64Url.TryDecodeFromChars(text, destination, out written);
    }

    private static JsonDocument? DecodeJson(ReadOnlySpan<char> text)
    {
        var buffer = new byte[Base64Url.GetMaxDecodedLength(text.Length)];
        if (!TryDecode(text, buffer, out var written))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(buffer.AsMemory(0, written));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool HasAudience(JsonElement element, string audience)
    {
        if (!element.TryGetProperty("aud", out var value))
        {
            return false;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString() == audience,
            JsonValueKind.Array => value.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && a.GetString() == audience),
            _ => false,
        };
    }

    private static bool TryGetSeconds(JsonElement element, string name, out DateTimeOffset value)
    {
        value = default;
        if (!element.TryGetProperty(name, out var number) || number.ValueKind != JsonValueKind.Number || !number.TryGetInt64(out var seconds)
            || seconds < 0 || seconds > 253_402_300_799)
        {
            return false;
        }

        value = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }

    private sealed class KeyRing
    {
        private readonly Entry[] _entries;

        public KeyRing(IEnumerable<TokenSigningKey> keys)
        {
            _entries = [.. keys.Select(k => new Entry(k.KeyId, [.. k.Key]))];
            if (_entries.Length == 0)
            {
                throw new ArgumentException("At least one signing key is required.", nameof(keys));
            }
        }

        public Entry Signing => _entries[0];

        public Entry? FindVerifyingKey(ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature)
        {
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            foreach (var entry in _entries)
            {
                HMACSHA256.HashData(entry.Key, signingInput, mac);
                if (CryptographicOperations.FixedTimeEquals(mac, signature))
                {
                    return entry;
                }
            }

            return null;
        }

        public sealed record Entry(string KeyId, byte[] Key);
    }
}
