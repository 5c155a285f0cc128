using System.Security.Cryptography;

namespace Dermag.BomTriggers;

/// <summary>
/// Version 7 GUIDs (RFC 9562: 48-bit Unix milliseconds, then random bits), as <see cref="Guid.CreateVersion7(DateTimeOffset)"/>
/// makes them, from the same cryptographic generator, but drawn from a per-thread buffer refilled 256 GUIDs at a time.
/// </summary>
/// <remarks>
/// On Linux every <see cref="Guid.NewGuid"/> (and so every <see cref="Guid.CreateVersion7()"/>) is a read of
/// <c>/dev/urandom</c>: a system call that took about 8% of a dispatch's CPU for its two ids (correlation and event).
/// </remarks>
internal static class VersionSevenGuid
{
    private const int Size = 16;
    private const int BufferSize = 256 * Size;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_next;

    public static Guid Create(DateTimeOffset timestamp)
    {
        var milliseconds = timestamp.ToUnixTimeMilliseconds();
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds, nameof(timestamp));

        var random = t_random;
        if (random is null || t_next > BufferSize - Size)
        {
            random = t_random ??= new byte[BufferSize];
            RandomNumberGenerator.Fill(random);
            t_next = 0;
        }

        Span<byte> bytes = stackalloc byte[Size];
        random.AsSpan(t_next, Size).CopyTo(bytes);

        // Used bytes are not handed out twice.
        random.AsSpan(t_next, Size).Clear();
        t_next += Size;

        // Big-endian layout: unix_ts_ms (48 bits), version 7 (4 bits), rand_a (12), variant 10 (2), rand_b (62).
        bytes[0] = (byte)(milliseconds >> 40);
        bytes[1] = (byte)(milliseconds >> 32);
        bytes[2] = (byte)(milliseconds >> 24);
        bytes[3] = (byte)(milliseconds >> 16);
        bytes[4] = (byte)(milliseconds >> 8);
        bytes[5] = (byte)milliseconds;
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }
}
