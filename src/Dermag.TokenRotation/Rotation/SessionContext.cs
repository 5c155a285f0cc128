using System.Text;

namespace Dermag.TokenRotation;

/// <summary>
/// Where a request comes from, recorded with the session and in audit rows. Values are made storable as they are: text
/// PostgreSQL cannot hold (U+0000, a UTF-16 surrogate without its pair) becomes U+FFFD, and values are trimmed to the
/// column sizes without ever splitting a surrogate pair, identically on every store.
/// </summary>
/// <param name="IpAddress">The client IP address (at most 45 characters are kept, enough for IPv6).</param>
/// <param name="UserAgent">The client's user agent (at most 512 characters are kept).</param>
/// <param name="DeviceFingerprint">An app-defined device fingerprint (at most 256 characters are kept).</param>
public sealed record SessionContext(string? IpAddress = null, string? UserAgent = null, string? DeviceFingerprint = null)
{
    internal const int MaxIpAddressLength = 45;
    internal const int MaxUserAgentLength = 512;
    internal const int MaxDeviceFingerprintLength = 256;

    /// <summary>No context.</summary>
    public static SessionContext Empty { get; } = new();

    internal SessionContext Normalize()
    {
        var ip = Storable(IpAddress, MaxIpAddressLength);
        var userAgent = Storable(UserAgent, MaxUserAgentLength);
        var fingerprint = Storable(DeviceFingerprint, MaxDeviceFingerprintLength);
        return ReferenceEquals(ip, IpAddress) && ReferenceEquals(userAgent, UserAgent) && ReferenceEquals(fingerprint, DeviceFingerprint)
            ? this
            : new SessionContext(ip, userAgent, fingerprint);
    }

    /// <summary>True when PostgreSQL can store <paramref name="value"/> as text unchanged (no U+0000, no unpaired surrogate).</summary>
    internal static bool IsStorableText(string value) => FirstUnstorable(value) < 0;

    /// <summary>The value itself when it is storable and short enough; otherwise a repaired, trimmed copy.</summary>
    private static string? Storable(string? value, int maxLength)
    {
        if (value is null || (value.Length <= maxLength && FirstUnstorable(value) < 0))
        {
            return value;
        }

        var builder = new StringBuilder(Math.Min(value.Length, maxLength));
        for (var i = 0; i < value.Length && builder.Length < maxLength; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                if (builder.Length + 2 > maxLength)
                {
                    break; // the pair does not fit whole: drop it rather than split it
                }

                builder.Append(c).Append(value[++i]);
            }
            else
            {
                builder.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return builder.ToString();
    }

    private static int FirstUnstorable(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                return i;
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return i;
            }
        }

        return -1;
    }
}
