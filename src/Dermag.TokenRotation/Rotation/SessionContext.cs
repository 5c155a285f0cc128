namespace Dermag.TokenRotation;

/// <summary>Where a request comes from, recorded with the session and in audit rows. Values are trimmed to the column sizes.</summary>
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

    internal SessionContext Normalize() =>
        IpAddress is { Length: > MaxIpAddressLength } || UserAgent is { Length: > MaxUserAgentLength } || DeviceFingerprint is { Length: > MaxDeviceFingerprintLength }
            ? new SessionContext(Cut(IpAddress, MaxIpAddressLength), Cut(UserAgent, MaxUserAgentLength), Cut(DeviceFingerprint, MaxDeviceFingerprintLength))
            : this;

    private static string? Cut(string? value, int length) => value is { } v && v.Length > length ? v[..length] : value;
}
