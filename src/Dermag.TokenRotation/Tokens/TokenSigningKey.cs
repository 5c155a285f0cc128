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
    /// <exception cref="ArgumentException">
    /// <paramref name="base64Key"/> is missing (null, as an unset configuration value reads, or blank) or not Base64; the
    /// message names <paramref name="keyId"/>, never the value.
    /// </exception>
    public static TokenSigningKey FromBase64(string keyId, string base64Key)
    {
        if (base64Key is null)
        {
            throw new ArgumentNullException(nameof(base64Key), Missing(keyId, "Base64 key"));
        }

        var bytes = new byte[base64Key.Length];
        if (string.IsNullOrWhiteSpace(base64Key))
        {
            throw new ArgumentException(Missing(keyId, "Base64 key"), nameof(base64Key));
        }

        if (!Convert.TryFromBase64String(base64Key.Trim(), bytes, out var written))
        {
            throw new ArgumentException(
                $"The key of signing key '{keyId}' is not valid Base64 (the value is not shown); generate one with `openssl rand -base64 32`.",
                nameof(base64Key));
        }

        return new TokenSigningKey(keyId, bytes[..written]);
    }

    /// <summary>A key from a secret string, UTF-8 encoded, as the original system's <c>JWT_ACCESS_SECRET</c>/<c>JWT_REFRESH_SECRET</c>; it must be at least 32 bytes long.</summary>
    /// <exception cref="ArgumentException"><paramref name="secret"/> is missing (null or blank); the message names <paramref name="keyId"/>.</exception>
    public static TokenSigningKey FromSecret(string keyId, string secret)
    {
        if (secret is null)
        {
            throw new ArgumentNullException(nameof(secret), Missing(keyId, "secret"));
        }

        if (string.IsNullOrWhiteSpace(secret))
        {
            throw new ArgumentException(Missing(keyId, "secret"), nameof(secret));
        }

        return new TokenSigningKey(keyId, Encoding.UTF8.GetBytes(secret));
    }

    private static string Missing(string keyId, string what) =>
        $"The {what} of signing key '{keyId}' is missing (null or blank: is the configuration setting it comes from set?); "
        + "generate a key with `openssl rand -base64 32`.";

    /// <summary>Returns the key id only; key material never appears in strings.</summary>
    public override string ToString() => $"TokenSigningKey {KeyId}";
}
