namespace Dermag.BomTriggers.Tests.Engine;

public class VersionSevenGuidTests
{
    [Fact]
    public void Create_IsVersion7WithTheTimestampFirst_AsGuidCreateVersion7()
    {
        var at = new DateTimeOffset(2026, 11, 29, 3, 40, 12, 345, TimeSpan.Zero);

        var id = VersionSevenGuid.Create(at);
        var reference = Guid.CreateVersion7(at);

        id.Version.Should().Be(7);
        (id.Variant & 0b1100).Should().Be(0b1000, "the RFC 9562 variant is 10xx");
        id.ToString()[..13].Should().Be(reference.ToString()[..13], "both start with the same 48-bit millisecond timestamp");
    }

    [Fact]
    public void Create_ManyOnSeveralThreads_AllDistinct()
    {
        var at = DateTimeOffset.UnixEpoch.AddDays(20_000);
        var ids = new System.Collections.Concurrent.ConcurrentBag<Guid>();

        // More than one buffer per thread, all in the same millisecond: only the random bits tell them apart.
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 1_000; i++)
            {
                ids.Add(VersionSevenGuid.Create(at));
            }
        });

        ids.Distinct().Should().HaveCount(4_000);
    }
}
