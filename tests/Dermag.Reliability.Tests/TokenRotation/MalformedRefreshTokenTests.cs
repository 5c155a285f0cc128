using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Dermag.Reliability.Tests.Support;
using Dermag.Testing;
using Dermag.TokenRotation;

namespace Dermag.Reliability.Tests.TokenRotation;

/// <summary>
/// 10,000 generated malformed refresh tokens (random bytes, truncated, oversized up to 1 MB, alg none, wrong key, wrong
/// typ, tampered claims re-signed with the right key, access tokens): every one is <see cref="RefreshStatus.Invalid"/>,
/// nothing throws, and not one reaches the database (Npgsql commands on this test's database are counted).
/// </summary>
public sealed class MalformedRefreshTokenTests(PostgresDatabase database, ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task Malformed_refresh_tokens_are_invalid_without_exceptions_or_database_round_trips()
    {
        var count = Scale.Pick(10_000, 100_000);
        await using var host = await TokenHost.StartAsync(database.ConnectionString);
        var service = host.Service;
        var pair = await service.IssueAsync("bad-input-user");
        var generator = new MalformedTokens(new Random(6), pair);
        var tokens = Enumerable.Range(0, count).Select(_ => generator.Next()).ToList();

        using var commands = new CommandCounter();
        using var root = CommandCounter.Source.StartActivity("bad-input")!;
        commands.RootId = root.RootId;
        var byKind = new ConcurrentDictionary<string, int>();
        var failures = new List<string>();
        foreach (var (kind, token) in tokens)
        {
            byKind.AddOrUpdate(kind, 1, (_, n) => n + 1);
            try
            {
                var result = await service.RefreshAsync(token);
                if (result.Status != RefreshStatus.Invalid)
                {
                    failures.Add($"{kind}: {result.Status} for {Describe(token)}");
                }

                if (await service.LogoutAsync(token) != LogoutResult.Invalid)
                {
                    failures.Add($"{kind}: logout accepted {Describe(token)}");
                }
            }
            catch (Exception ex)
            {
                failures.Add($"{kind}: threw {ex.GetType().Name}: {ex.Message} for {Describe(token)}");
            }
        }

        var roundTrips = commands.Count;
        failures.Should().BeEmpty(string.Join(Environment.NewLine, failures.Take(10)));
        roundTrips.Should().Be(0, "tokens failing validation never reach the database");

        // The counter does see this database: a genuine refresh is counted.
        (await service.RefreshAsync(pair.RefreshToken)).Status.Should().Be(RefreshStatus.Rotated);
        commands.Count.Should().BeGreaterThan(0);
        Figures.Report(output, $"malformed refresh tokens: {count} ({string.Join(", ", byKind.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}), all Invalid, 0 exceptions, 0 database commands (a genuine refresh: {commands.Count})");
    }

    private static string Describe(string? token) => token is null ? "null" : token.Length > 80 ? $"{token[..80]}... ({token.Length} chars)" : token;

    /// <summary>
    /// Counts Npgsql commands issued under this test's root activity (other test classes run in parallel and have
    /// their own roots); the library's commands flow the ambient activity, so they are children of the root.
    /// </summary>
    private sealed class CommandCounter : IDisposable
    {
        public static readonly ActivitySource Source = new("Dermag.Reliability.Tests.BadInput");

        private readonly ActivityListener _listener;
        private int _count;

        public CommandCounter()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name is "Npgsql" or "Dermag.Reliability.Tests.BadInput",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                ActivityStopped = a =>
                {
                    if (a.Source.Name == "Npgsql" && a.RootId == RootId)
                    {
                        Interlocked.Increment(ref _count);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public string? RootId { get; set; }

        public int Count => Volatile.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }

    private sealed class MalformedTokens(Random random, TokenPair genuine)
    {
        private static readonly string[] Kinds =
        [
            "random-bytes", "random-base64url", "truncated", "oversized", "alg-none", "wrong-key", "wrong-typ", "wrong-kid",
            "tampered-payload", "resigned-bad-claims", "access-token", "extra-segments", "empty-or-null", "bit-flip",
        ];

        private readonly string[] _parts = genuine.RefreshToken.Split('.');

        public (string Kind, string? Token) Next()
        {
            var kind = Kinds[random.Next(Kinds.Length)];
            return (kind, kind switch
            {
                "random-bytes" => Encoding.Latin1.GetString(Bytes(random.Next(0, 600))),
                "random-base64url" => $"{B64(Bytes(random.Next(1, 80)))}.{B64(Bytes(random.Next(1, 300)))}.{B64(Bytes(random.Next(0, 40)))}",
                "truncated" => genuine.RefreshToken[..random.Next(0, genuine.RefreshToken.Length)],
                "oversized" => genuine.RefreshToken + new string('A', random.Next(4_097, 1_048_576 - genuine.RefreshToken.Length)),
                "alg-none" => $"{Header(h => h["alg"] = "none")}.{_parts[1]}." + (random.Next(2) == 0 ? string.Empty : _parts[2]),
                "wrong-key" => Sign(_parts[0], _parts[1], RandomNumberGenerator.GetBytes(32)),
                "wrong-typ" => Sign(Header(h => h["typ"] = random.Next(2) == 0 ? "at+jwt" : "JWT"), _parts[1], TokenHost.RefreshKey),
                "wrong-kid" => Sign(Header(h => h["kid"] = "access-1"), _parts[1], TokenHost.AccessKey),
                "tampered-payload" => $"{_parts[0]}.{Payload(p => p["sub"] = "someone-else")}.{_parts[2]}",
                "resigned-bad-claims" => Sign(_parts[0], Payload(BadClaim), TokenHost.RefreshKey),
                "access-token" => genuine.AccessToken,
                "extra-segments" => genuine.RefreshToken + "." + _parts[1],
                "empty-or-null" => random.Next(3) switch { 0 => null, 1 => string.Empty, _ => "   " },
                _ => FlipOneCharacter(genuine.RefreshToken),
            });
        }

        private void BadClaim(JsonObject payload)
        {
            switch (random.Next(6))
            {
                case 0:
                    payload["iss"] = "evil-issuer";
                    break;
                case 1:
                    payload["aud"] = "another-api";
                    break;
                case 2:
                    payload["jti"] = "not-a-guid";
                    break;
                case 3:
                    payload.Remove("sid");
                    break;
                case 4:
                    payload["sub"] = string.Empty;
                    break;
                default:
                    payload.Remove("exp");
                    break;
            }
        }

        private string FlipOneCharacter(string token)
        {
            var chars = token.ToCharArray();
            var i = random.Next(chars.Length);
            chars[i] = chars[i] == '.' ? '_' : chars[i] == 'A' ? 'B' : 'A';
            return new string(chars);
        }

        private string Header(Action<JsonObject> change) => Rewrite(_parts[0], change);

        private string Payload(Action<JsonObject> change) => Rewrite(_parts[1], change);

        private static string Rewrite(string part, Action<JsonObject> change)
        {
            var node = JsonNode.Parse(Base64UrlDecode(part))!.AsObject();
            change(node);
            return B64(Encoding.UTF8.GetBytes(node.ToJsonString()));
        }

        private static string Sign(string header, string payload, byte[] key) =>
            $"{header}.{payload}.{B64(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(header + "." + payload)))}";

        private byte[] Bytes(int n)
        {
            var bytes = new byte[n];
            random.NextBytes(bytes);
            return bytes;
        }

        private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        private static byte[] Base64UrlDecode(string text)
        {
            var s = text.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
        }
    }
}
