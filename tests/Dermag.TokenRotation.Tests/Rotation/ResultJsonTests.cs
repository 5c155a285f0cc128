using System.Text.Json;

namespace Dermag.TokenRotation.Tests.Rotation;

/// <summary>Results serialize their status by name with any serializer options, as the error codes and the logs spell them.</summary>
public sealed class ResultJsonTests
{
    [Fact]
    public void Statuses_SerializeByName_AndReadNumbersToo()
    {
        JsonSerializer.Serialize(RefreshStatus.ReuseDetected).Should().Be("\"ReuseDetected\"");
        JsonSerializer.Serialize(LogoutResult.SessionRevoked).Should().Be("\"SessionRevoked\"");
        JsonSerializer.Deserialize<RefreshStatus>("\"Revoked\"").Should().Be(RefreshStatus.Revoked);
        JsonSerializer.Deserialize<RefreshStatus>("2").Should().Be(RefreshStatus.Revoked);
    }
}
