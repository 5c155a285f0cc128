using System.Text;

namespace Dermag.TokenRotation;

/// <summary>An HMAC-SHA256 signing key with its key id (the JWT <c>kid</c> header).</summary>
public sealed class TokenSigningKey
{
    /// <summary>Creates an empty key, for configuration binding (<c>Key</c> binds from a Base64 string).</summary>
    public TokenSigningKey()
    {
    }

    /// <summary>Creates a key.</summary>
    /// <param name="keyId">The key id written to the <c>kid</c> header.</param>
    /// <param name="key">The key bytes; at least 32 (256 bits).</param>
    public TokenSigningKey(string keyId, byte[] key)
    {
        KeyId = keyId;
        Key = key;
    }

    /// <summary>The key id written to the <c>kid</c> header and used to pick the validating key.</summary>
    public string KeyId { get; set; } = string.Empty;

    /// <summary>The key bytes; at least 32 (256 bits).</summary>
#pragma warning disable CA1819 // A key is bytes; configuration binding needs a settable array.
    public byte[] Key { get; set; } = [];
#pragma warning restore CA1819

    /// <summary>A key from a Base64 string (for example <c>openssl rand -base64 32</c>).</summary>
    public static TokenSigningKey FromBase64(string keyId, string base64Key)
    {
        ArgumentNullException.ThrowIfNull(base64Key);
        return new TokenSigningKey(keyId, Convert.FromBase64String(base64Key));
    }

    /// <summary>A key from a secret string, UTF-8 encoded, as the original system's <c>JWT_ACCESS_SECRET</c>/<c>JWT_REFRESH_SECRET</c>; it must be at least 32 bytes long.</summary>
    public static TokenSigningKey FromSecret(string keyId, string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return new TokenSigningKey(keyId, Encoding.UTF8.GetBytes(secret));
    }

    /// <summary>Returns the key id only; key material never appears in strings.</summary>
    public override string ToString() => $"TokenSigningKey {KeyId}";
}
