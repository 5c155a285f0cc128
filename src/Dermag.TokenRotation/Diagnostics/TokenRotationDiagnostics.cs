using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Dermag.TokenRotation;

/// <summary>The names a host subscribes to with OpenTelemetry (<c>AddMeter</c>, <c>AddSource</c>).</summary>
public static class TokenRotationDiagnostics
{
    /// <summary>The name of the <see cref="Meter"/>.</summary>
    public const string MeterName = "Dermag.TokenRotation";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/>.</summary>
    public const string ActivitySourceName = "Dermag.TokenRotation";

    /// <summary>Counter of refresh attempts, tagged <c>result</c> (<c>rotated</c>, <c>grace_replay</c>, <c>expired</c>, <c>revoked</c>, <c>reuse_detected</c>, <c>invalid</c>).</summary>
    public const string RefreshesInstrument = "dermag.token_rotation.refreshes";

    /// <summary>Counter of detected refresh token reuse (likely theft).</summary>
    public const string ReuseDetectionsInstrument = "dermag.token_rotation.reuse_detections";

    /// <summary>Counter of sessions issued (logins).</summary>
    public const string SessionsIssuedInstrument = "dermag.token_rotation.sessions_issued";

    /// <summary>Counter of sessions revoked (logout, revocation, reuse response).</summary>
    public const string SessionsRevokedInstrument = "dermag.token_rotation.sessions_revoked";

    /// <summary>Counter of expired refresh tokens deleted by cleanup.</summary>
    public const string TokensDeletedInstrument = "dermag.token_rotation.tokens_deleted";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);
}

/// <summary>The library's instruments, created from the host's <see cref="IMeterFactory"/> when there is one.</summary>
internal sealed class TokenRotationMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _refreshes;
    private readonly Counter<long> _reuse;
    private readonly Counter<long> _issued;
    private readonly Counter<long> _revoked;
    private readonly Counter<long> _deleted;

    public TokenRotationMetrics(IMeterFactory? meterFactory = null)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(TokenRotationDiagnostics.MeterName) ?? new Meter(TokenRotationDiagnostics.MeterName);
        _refreshes = _meter.CreateCounter<long>(TokenRotationDiagnostics.RefreshesInstrument, "{refresh}", "Refresh attempts by result.");
        _reuse = _meter.CreateCounter<long>(TokenRotationDiagnostics.ReuseDetectionsInstrument, "{detection}", "Rotated-away refresh tokens presented again.");
        _issued = _meter.CreateCounter<long>(TokenRotationDiagnostics.SessionsIssuedInstrument, "{session}", "Sessions issued.");
        _revoked = _meter.CreateCounter<long>(TokenRotationDiagnostics.SessionsRevokedInstrument, "{session}", "Sessions revoked.");
        _deleted = _meter.CreateCounter<long>(TokenRotationDiagnostics.TokensDeletedInstrument, "{token}", "Expired refresh tokens deleted.");
    }

    public void Refresh(string result) => _refreshes.Add(1, new KeyValuePair<string, object?>("result", result));

    public void ReuseDetected() => _reuse.Add(1);

    public void SessionIssued() => _issued.Add(1);

    public void SessionsRevoked(int count, string reason)
    {
        if (count > 0)
        {
            _revoked.Add(count, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void TokensDeleted(int count) => _deleted.Add(count);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
