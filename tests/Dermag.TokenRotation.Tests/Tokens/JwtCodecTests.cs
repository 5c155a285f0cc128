using System.Buffers.Text;
using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Dermag.TokenRotation.Tests.Tokens;

public class JwtCodecTests
{
    private static readonly RefreshTokenContent Content = new(
        Guid.Parse("11111111-2222-3333-4444-555555555555"), "42", Guid.Parse("66666666-7777-8888-9999-000000000000"),
        TestSetup.Start, TestSetup.Start.AddDays(7));

    private readonly JwtCodec _codec = new(TestSetup.Options());

    [Fact]
    public void CreateRefreshToken_SameContent_ProducesIdenticalToken()
    {
        var first = _codec.CreateRefreshToken(Content);
        var again = new JwtCodec(TestSetup.Options()).CreateRefreshToken(Content);

        again.Should().Be(first);
    }

    [Fact]
    public void ReadRefreshToken_OwnToken_ReturnsItsClaims()
    {
        var read = _codec.ReadRefreshToken(_codec.CreateRefreshToken(Content), TestSetup.Start.AddHours(1));

        read.Status.Should().Be(TokenReadStatus.Valid);
        read.Content.Should().Be(Content);
    }

    [Fact]
    public void ReadRefreshToken_AtExpiry_ReturnsExpired()
    {
        var read = _codec.ReadRefreshToken(_codec.CreateRefreshToken(Content), Content.ExpiresAt);

        read.Status.Should().Be(TokenReadStatus.Expired);
    }

    [Fact]
    public void ReadRefreshToken_AccessToken_IsInvalid()
    {
        var access = _codec.CreateAccessToken("42", Content.SessionId, Guid.NewGuid(), TestSetup.Start, TestSetup.Start.AddMinutes(15), null);

        _codec.ReadRefreshToken(access, TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
        _codec.ReadAccessToken(access, TestSetup.Start).Status.Should().Be(TokenReadStatus.Valid);
    }

    [Fact]
    public void ReadRefreshToken_AccessTokenWhenKeysAreShared_IsInvalidByType()
    {
        // Separate keys are enforced by validation; this proves the typ check alone also refuses the swap.
        var options = TestSetup.Options(o =>
        {
            o.RefreshSigningKeys.Clear();
            o.RefreshSigningKeys.Add(TestSetup.Key("access-1", 1));
        });
        var codec = new JwtCodec(options);
        var access = codec.CreateAccessToken("42", Content.SessionId, Content.TokenId, TestSetup.Start, TestSetup.Start.AddDays(1), null);

        codec.ReadRefreshToken(access, TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
    }

    [Fact]
    public void ReadRefreshToken_SignedWithForeignKey_IsInvalid()
    {
        var foreign = new JwtCodec(TestSetup.Options(o =>
        {
            o.RefreshSigningKeys.Clear();
            o.RefreshSigningKeys.Add(TestSetup.Key("refresh-1", 55));
        }));

        _codec.ReadRefreshToken(foreign.CreateRefreshToken(Content), TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
    }

    [Fact]
    public void ReadRefreshToken_WrongIssuerOrAudience_IsInvalid()
    {
        var otherIssuer = new JwtCodec(TestSetup.Options(o => o.Issuer = "someone-else"));
        var otherAudience = new JwtCodec(TestSetup.Options(o => o.Audience = "other-api"));

        _codec.ReadRefreshToken(otherIssuer.CreateRefreshToken(Content), TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
        _codec.ReadRefreshToken(otherAudience.CreateRefreshToken(Content), TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
    }

    [Fact]
    public void ReadRefreshToken_AfterKeyRotation_OldTokensStillValidateAndNewOnesUseNewKey()
    {
        var oldToken = _codec.CreateRefreshToken(Content);
        var rotated = new JwtCodec(TestSetup.Options(o => o.RefreshSigningKeys.Insert(0, TestSetup.Key("refresh-2", 77))));

        rotated.ReadRefreshToken(oldToken, TestSetup.Start).Status.Should().Be(TokenReadStatus.Valid);
        var newToken = rotated.CreateRefreshToken(Content);
        Header(newToken).Should().Contain("\"kid\":\"refresh-2\"");
        _codec.ReadRefreshToken(newToken, TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
    }

    [Fact]
    public void ReadRefreshToken_AlgNone_IsInvalid()
    {
        var token = _codec.CreateRefreshToken(Content);
        var parts = token.Split('.');
        var none = Base64Url.EncodeToString(Encoding.UTF8.GetBytes("{\"alg\":\"none\",\"typ\":\"rt+jwt\"}"));

        _codec.ReadRefreshToken($"{none}.{parts[1]}.", TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
        _codec.ReadRefreshToken($"{none}.{parts[1]}", TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
        _codec.ReadRefreshToken($"{none}.{parts[1]}.{parts[2]}", TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
    }

    [Fact]
    public void ReadRefreshToken_TamperedPayload_IsInvalid()
    {
        var parts = _codec.CreateRefreshToken(Content).Split('.');
        var payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])).Replace("\"42\"", "\"1\"");
        var tampered = $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload))}.{parts[2]}";

        _codec.ReadRefreshToken(tampered, TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
    }

    [Fact]
    public void ReadRefreshToken_ThousandsOfMalformedTokens_AreAllInvalidWithoutExceptions()
    {
        var valid = _codec.CreateRefreshToken(Content);
        var malformed = MalformedTokens.Generate(valid, seed: 7).ToList();

        malformed.Should().HaveCountGreaterThanOrEqualTo(1000);
        var statuses = malformed.Select(t => _codec.ReadRefreshToken(t, TestSetup.Start).Status).ToList();

        statuses.Should().AllSatisfy(s => s.Should().Be(TokenReadStatus.Invalid));
    }

    // Found by fuzzing: System.Text.Json parses such strings and throws only when one is read.
    [Theory]
    [InlineData(new byte[] { 0xff })]
    [InlineData(new byte[] { (byte)'\\', (byte)'u', (byte)'d', (byte)'8', (byte)'0', (byte)'0' })]
    public void ReadRefreshToken_SignedWithOurKeyButClaimNotReadableText_IsInvalidWithoutException(byte[] text)
    {
        byte[] header = [.. "{\"alg\":\"HS256\",\"kid\":\"refresh-1\",\"typ\":\"rt+jwt\"}"u8];
        byte[] payload = [.. "{\"iss\":\""u8, .. text, .. "\"}"u8];
        var signingInput = Base64Url.EncodeToString(header) + "." + Base64Url.EncodeToString(payload);
        var mac = System.Security.Cryptography.HMACSHA256.HashData(TestSetup.Key("refresh-1", 101).Key, Encoding.ASCII.GetBytes(signingInput));

        _codec.ReadRefreshToken(signingInput + "." + Base64Url.EncodeToString(mac), TestSetup.Start).Status.Should().Be(TokenReadStatus.Invalid);
    }

    [Fact]
    public void CreateAccessToken_ReservedExtraClaim_Throws()
    {
        var act = () => _codec.CreateAccessToken("42", Content.SessionId, Guid.NewGuid(), TestSetup.Start, TestSetup.Start.AddMinutes(15), [new Claim("sub", "1")]);

        act.Should().Throw<ArgumentException>().WithMessage("*'sub'*");
    }

    [Fact]
    public async Task AccessToken_ValidatesWithExposedParametersInJsonWebTokenHandler()
    {
        var time = TestSetup.Clock();
        var service = TestSetup.Service(new InMemoryRefreshTokenStore(), time);
        var pair = await service.IssueAsync("42", extraClaims: [new Claim("role", "admin"), new Claim("role", "manager")]);
        var parameters = service.CreateAccessTokenValidationParameters();
        var handler = new JsonWebTokenHandler { MapInboundClaims = false };

        var result = await handler.ValidateTokenAsync(pair.AccessToken, parameters);

        result.IsValid.Should().BeTrue(result.Exception?.Message);
        result.ClaimsIdentity.Name.Should().Be("42");
        result.ClaimsIdentity.FindAll("role").Select(c => c.Value).Should().BeEquivalentTo("admin", "manager");
        result.ClaimsIdentity.FindFirst("sid")!.Value.Should().Be(pair.SessionId.ToString());
        ((JsonWebToken)result.SecurityToken).Typ.Should().Be("at+jwt");

        time.Advance(TimeSpan.FromMinutes(16));
        var expired = await handler.ValidateTokenAsync(pair.AccessToken, parameters);
        expired.IsValid.Should().BeFalse("the access token expired on the injected clock");
        expired.Exception.Should().BeOfType<SecurityTokenExpiredException>("hosts map it to TOKEN_EXPIRED rather than INVALID_TOKEN");
        (await handler.ValidateTokenAsync(pair.RefreshToken, parameters)).IsValid.Should().BeFalse("a refresh token is not an access token");
    }

    private static string Header(string token) => Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.Split('.')[0]));
}
