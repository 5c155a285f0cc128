namespace Dermag.BomTriggers.Tests.Engine;

public class LoopGuardTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(40)]
    public void Add_RefusesEveryRepeat_KeepsTheOrder_BeforeAndAfterItSwitchesToASet(int pairs)
    {
        var guard = new LoopGuard();

        for (var i = 0; i < pairs; i++)
        {
            guard.Add(i, 7).Should().BeTrue();
            guard.Add(i, 8).Should().BeTrue();
        }

        for (var i = 0; i < pairs; i++)
        {
            guard.Add(i, 7).Should().BeFalse();
            guard.Add(i, 8).Should().BeFalse();
        }

        guard.Count.Should().Be(pairs * 2);
        guard.Pairs.Should().Equal(Enumerable.Range(0, pairs).SelectMany(i => new[] { (i, 7), (i, 8) }));
        JobChain.Parse(JobChain.Format(guard)).Pairs.Should().Equal(guard.Pairs);
    }
}
