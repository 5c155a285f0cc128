namespace Dermag.TokenRotation.Tests.Tokens;

/// <summary>Keys read from configuration: a missing or malformed value names the key, never the value.</summary>
public sealed class TokenSigningKeyTests
{
    [Fact]
    public void FromBase64_ValidKey_ReadsItsBytes()
    {
        var bytes = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

        var key = TokenSigningKey.FromBase64("access-1", " " + Convert.ToBase64String(bytes) + "\n");

        key.KeyId.Should().Be("access-1");
        key.Key.Should().Equal(bytes);
    }

    [Theory]
    [InlineData(null, "is missing")]
    [InlineData("", "is missing")]
    [InlineData("   ", "is missing")]
    [InlineData("not base64 at all!", "is not valid Base64")]
    [InlineData("c2VjcmV0LXZhbHVl=x", "is not valid Base64")]
    public void FromBase64_MissingOrMalformed_NamesTheKeyNotTheValue(string? value, string expected)
    {
        var act = () => TokenSigningKey.FromBase64("access-1", value!);

        var message = act.Should().Throw<ArgumentException>().Which.Message;
        message.Should().Contain("signing key 'access-1'").And.Contain(expected).And.Contain("openssl rand -base64 32");
        if (!string.IsNullOrWhiteSpace(value))
        {
            message.Should().NotContain(value.Trim(), "a key's value is a secret");
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData(" ")]
    public void FromSecret_Missing_NamesTheKey(string? secret)
    {
        var act = () => TokenSigningKey.FromSecret("refresh-1", secret!);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("secret of signing key 'refresh-1' is missing");
    }
}
