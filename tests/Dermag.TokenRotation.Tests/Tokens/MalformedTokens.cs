using System.Buffers.Text;
using System.Text;

namespace Dermag.TokenRotation.Tests.Tokens;

/// <summary>Generates broken refresh tokens: garbage, oversized, truncated, bit-flipped, re-headed (alg none, HS512, no typ), swapped parts.</summary>
internal static class MalformedTokens
{
    public static IEnumerable<string> Generate(string valid, int seed)
    {
        var random = new Random(seed);
        var parts = valid.Split('.');
        yield return string.Empty;
        yield return ".";
        yield return "..";
        yield return "...";
        yield return "a.b.c";
        yield return valid + ".";
        yield return valid + "=";
        yield return " " + valid;
        yield return valid.Replace('.', ' ');
        yield return new string('A', JwtCodec.MaxTokenLength + 1);
        yield return new string('x', 1_000_000);
        yield return valid + new string('A', JwtCodec.MaxTokenLength);
        yield return $"{parts[0]}.{parts[1]}";
        yield return $"{parts[1]}.{parts[0]}.{parts[2]}";
        yield return $"{parts[0]}.{parts[1]}.{parts[2]}.{parts[2]}";

        foreach (var header in new[]
        {
            "{\"alg\":\"none\",\"typ\":\"rt+jwt\"}",
            "{\"alg\":\"HS512\",\"kid\":\"refresh-1\",\"typ\":\"rt+jwt\"}",
            "{\"alg\":\"RS256\",\"kid\":\"refresh-1\",\"typ\":\"rt+jwt\"}",
            "{\"alg\":\"HS256\",\"kid\":\"refresh-1\"}",
            "{\"alg\":\"HS256\",\"kid\":\"refresh-1\",\"typ\":\"at+jwt\"}",
            "{\"alg\":\"HS256\",\"kid\":\"nope\",\"typ\":\"rt+jwt\"}",
            "not json",
            "[]",
            "{",
        })
        {
            var encoded = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header));
            yield return $"{encoded}.{parts[1]}.{parts[2]}";
            yield return $"{encoded}.{parts[1]}.";
        }

        // Every single-character change of the valid token.
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
        for (var i = 0; i < valid.Length; i += 1)
        {
            var chars = valid.ToCharArray();
            var replacement = Alphabet[random.Next(Alphabet.Length)];
            if (replacement == chars[i])
            {
                replacement = replacement == 'A' ? 'B' : 'A';
            }

            // Changing the last signature character can leave its decoded bytes unchanged (unused low bits); skip those.
            if (i >= valid.Length - 1)
            {
                continue;
            }

            chars[i] = replacement;
            yield return new string(chars);
        }

        // Truncations.
        for (var length = 1; length < valid.Length; length += 3)
        {
            yield return valid[..length];
        }

        // Random garbage of many sizes and alphabets.
        for (var i = 0; i < 600; i++)
        {
            var length = random.Next(1, 3000);
            var builder = new StringBuilder(length);
            for (var j = 0; j < length; j++)
            {
                builder.Append(i % 3 == 0 ? (char)random.Next(0, 0xD7FF) : Alphabet[random.Next(Alphabet.Length)]);
            }

            yield return builder.ToString();
        }

        // Random bytes dressed as a JWT.
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(1, 400)];
            random.NextBytes(bytes);
            yield return $"{Base64Url.EncodeToString(bytes)}.{Base64Url.EncodeToString(bytes.Reverse().ToArray())}.{Base64Url.EncodeToString(bytes.AsSpan(0, Math.Min(32, bytes.Length)))}";
        }
    }
}
