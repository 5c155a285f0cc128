using System.Diagnostics.Metrics;
using System.Security.Claims;
using Dermag.Testing;
using Dermag.TokenRotation.Tests.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation.Tests.Rotation;

public class RefreshTokenManagerTests
{
    [Fact]
    public async Task RefreshAsync_ThousandsOfMalformedTokens_AreInvalidWithoutStoreCallOrException()
    {
        var time = TestSetup.Clock();
        var genuine = await TestSetup.Service(new InMemoryRefreshTokenStore(), time).IssueAsync("42");
        var store = new UntouchableStore();
        var service = TestSetup.Service(store, time);
        var malformed = MalformedTokens.Generate(genuine.RefreshToken, seed: 11).Append(genuine.AccessToken).Append(null).ToList();

        var results = new List<RefreshStatus>();
        foreach (var token in malformed)
        {
            results.Add((await service.RefreshAsync(token)).Status);
        }

        results.Should().HaveCountGreaterThanOrEqualTo(1000).And.OnlyContain(s => s == RefreshStatus.Invalid);
        store.Calls.Should().Be(0);
    }

    [Fact]
    public async Task RefreshAsync_ExpiredGenuineToken_ReturnsExpiredWithoutStoreCall()
    {
        var time = TestSetup.Clock();
        var genuine = await TestSetup.Service(new InMemoryRefreshTokenStore(), time).IssueAsync("42");
        var store = new UntouchableStore();
        time.Advance(TimeSpan.FromDays(8));

        var result = await TestSetup.Service(store, time).RefreshAsync(genuine.RefreshToken);

        result.Status.Should().Be(RefreshStatus.Expired);
        store.Calls.Should().Be(0);
    }

    [Fact]
    public async Task LogoutAsync_Garbage_ReturnsInvalidWithoutStoreCall()
    {
        var store = new UntouchableStore();

        var result = await TestSetup.Service(store, TestSetup.Clock()).LogoutAsync("eyJhbGciOiJub25lIn0.e30.");

        result.Should().Be(LogoutResult.Invalid);
        store.Calls.Should().Be(0);
    }

    [Fact]
    public async Task IssueAsync_ReservedExtraClaim_ThrowsBeforeTouchingTheStore()
    {
        var store = new UntouchableStore();

        var act = () => TestSetup.Service(store, TestSetup.Clock()).IssueAsync("42", extraClaims: [new Claim("sid", "x")]);

        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*'sid'*");
        store.Calls.Should().Be(0);
    }

    [Fact]
    public async Task RefreshAsync_ReservedExtraClaim_ThrowsBeforeRotating()
    {
        var time = TestSetup.Clock();
        var store = new InMemoryRefreshTokenStore();
        var service = TestSetup.Service(store, time);
        var pair = await service.IssueAsync("42");

        var act = () => service.RefreshAsync(pair.RefreshToken, extraClaims: [new Claim("exp", "1")]);

        await act.Should().ThrowAsync<ArgumentException>();
        (await service.RefreshAsync(pair.RefreshToken)).Status.Should().Be(RefreshStatus.Rotated, "the failed call did not use the token up");
    }

    [Fact]
    public async Task RefreshAsync_AnyOutcome_NeverLogsTokens()
    {
        var time = TestSetup.Clock();
        var logs = new CapturedLogs();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var service = new RefreshTokenManager(
            new InMemoryRefreshTokenStore(), Options.Create(TestSetup.Options()), time, new TokenRotationMetrics(), factory.CreateLogger<RefreshTokenManager>());
        var pair = await service.IssueAsync("42");
        var rotated = await service.RefreshAsync(pair.RefreshToken);
        await service.RefreshAsync(pair.RefreshToken);
        await service.RefreshAsync("garbage");
        await service.LogoutAsync(rotated.Tokens!.RefreshToken);

        logs.Entries.Should().NotBeEmpty();
        var secrets = new[] { pair.RefreshToken, pair.AccessToken, rotated.Tokens.RefreshToken, rotated.Tokens.AccessToken }
            .SelectMany(t => t.Split('.')).ToList();
        logs.Entries.Select(e => e.Message + e.Exception).Should().AllSatisfy(m => secrets.Should().NotContain(s => m.Contains(s)));
        pair.ToString().Should().NotContain(pair.RefreshToken).And.NotContain(pair.AccessToken);
    }

    [Fact]
    public async Task RefreshAsync_ReuseDetected_IsCountedOnTheMeter()
    {
        var measurements = new List<(string Instrument, long Value, string? Result)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TokenRotationDiagnostics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? result = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "result")
                {
                    result = tag.Value as string;
                }
            }

            lock (measurements)
            {
                measurements.Add((instrument.Name, value, result));
            }
        });
        listener.Start();
        var service = TestSetup.Service(new InMemoryRefreshTokenStore(), TestSetup.Clock());
        var pair = await service.IssueAsync("meter-user");
        await service.RefreshAsync(pair.RefreshToken);

        await service.RefreshAsync(pair.RefreshToken);

        lock (measurements)
        {
            measurements.Should().Contain((TokenRotationDiagnostics.RefreshesInstrument, 1, "rotated"));
            measurements.Should().Contain((TokenRotationDiagnostics.RefreshesInstrument, 1, "reuse_detected"));
            measurements.Should().Contain(m => m.Instrument == TokenRotationDiagnostics.ReuseDetectionsInstrument);
        }
    }
}
