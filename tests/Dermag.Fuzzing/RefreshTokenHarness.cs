using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Dermag.TokenRotation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Dermag.Fuzzing;

/// <summary>
/// The refresh-token reader (<see cref="JwtCodec"/>) and <see cref="IRefreshTokenManager.RefreshAsync"/> on the in-memory
/// store. An input that starts with <c>{</c> is a header and a payload (JSON, split at the first newline; without one the
/// whole input is the payload under the usual header) that the harness signs with the refresh key, so the fuzzer reaches
/// the code behind the MAC; any other input is presented as the token text itself.
/// </summary>
/// <remarks>
/// Invariants: nothing throws; a token the codec reads as valid or expired has the claims a row needs and is written back
/// by <see cref="JwtCodec.CreateRefreshToken"/> to a token that reads the same; a refresh never rotates (the store is empty).
/// </remarks>
public sealed class RefreshTokenHarness : IHarness
{
    /// <summary>The fixed clock every run reads; the seed tokens were issued an hour before it and expire a year after.</summary>
    public static readonly DateTimeOffset Now = new(2026, 11, 29, 0, 0, 0, TimeSpan.Zero);

    internal static readonly byte[] RefreshKey = [.. Enumerable.Repeat((byte)0x52, 32)];
    internal const string RefreshKeyId = "refresh-fuzz";
    internal const string DefaultHeader = """{"alg":"HS256","kid":"refresh-fuzz","typ":"rt+jwt"}""";

    private readonly JwtCodec _codec;
    private readonly IRefreshTokenManager _manager;

    public RefreshTokenHarness()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        services.AddRefreshTokenRotation(Configure).UseInMemoryStore();
        _manager = services.BuildServiceProvider().GetRequiredService<IRefreshTokenManager>();
        var options = new RefreshTokenRotationOptions();
        Configure(options);
        _codec = new JwtCodec(options);
    }

    private static void Configure(RefreshTokenRotationOptions o)
    {
        o.Issuer = "dermag-fuzz";
        o.Audience = "dermag-fuzz-api";
        o.AccessSigningKeys.Add(new TokenSigningKey("access-fuzz", [.. Enumerable.Repeat((byte)0x41, 32)]));
        o.RefreshSigningKeys.Add(new TokenSigningKey(RefreshKeyId, RefreshKey));
        o.RefreshSigningKeys.Add(new TokenSigningKey("refresh-old", [.. Enumerable.Repeat((byte)0x4f, 32)]));
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        var token = input.Length > 0 && input[0] == (byte)'{' ? Sign(input) : Encoding.UTF8.GetString(input);

        var read = _codec.ReadRefreshToken(token, Now);
        Harnesses.Check(Enum.IsDefined(read.Status), $"unknown status {read.Status}");
        if (read.Status != TokenReadStatus.Invalid)
        {
            var content = read.Content;
            Harnesses.Check(!string.IsNullOrEmpty(content.UserId), "a readable token without a user id");
            Harnesses.Check(read.Status == TokenReadStatus.Expired == (Now >= content.ExpiresAt), $"status {read.Status} for expiry {content.ExpiresAt:O}");

            // The grace window re-creates a token from its row: what was read must write back to a token that reads the same.
            var again = _codec.ReadRefreshToken(_codec.CreateRefreshToken(content), Now);
            Harnesses.Check(again == read, $"the token re-created from {content} reads as {again.Status} {again.Content}");
        }

        Harnesses.Check(_codec.ReadAccessToken(token, Now).Status == TokenReadStatus.Invalid, "a refresh-key token read as an access token");

        var refreshed = _manager.RefreshAsync(token).GetAwaiter().GetResult();
        Harnesses.Check(!refreshed.Succeeded, $"an empty store rotated a token: {refreshed.Status}");
        _ = _manager.LogoutAsync(token).GetAwaiter().GetResult();
    }

    /// <summary>Makes a token of the header and payload in <paramref name="input"/>, signed with the refresh key.</summary>
    internal static string Sign(ReadOnlySpan<byte> input)
    {
        var newline = input.IndexOf((byte)'\n');
        var header = newline < 0 ? Encoding.UTF8.GetBytes(DefaultHeader) : input[..newline];
        var payload = newline < 0 ? input : input[(newline + 1)..];
        var signingInput = Base64Url.EncodeToString(header) + "." + Base64Url.EncodeToString(payload);
        var mac = HMACSHA256.HashData(RefreshKey, Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url.EncodeToString(mac);
    }
}
