using System.Collections.Concurrent;
using System.Globalization;
using Dermag.BomTriggers;
using Dermag.Reliability.Tests.Support;
using Dermag.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Dermag.Reliability.Tests.BomTriggers;

/// <summary>
/// 8 clients dispatch while another thread creates, edits and toggles triggers. Every dispatch must see one consistent
/// snapshot: each trigger at most once, in priority order, name and config from the same version, and never a version
/// older than one whose save had returned before the dispatch began. No dispatch throws, and every executed trigger is
/// logged exactly once (and its action ran exactly once). Run on both stores.
/// </summary>
public abstract class TriggersUnderLoadContract(ITestOutputHelper output)
{
    private const int Clients = 8;
    private const int MaxTriggers = 64;

    protected abstract Task<ServiceProvider> StartAsync();

    [Fact]
    public async Task Dispatches_see_consistent_snapshots_and_every_execution_is_logged_once_while_triggers_change()
    {
        var dispatchesPerClient = Scale.Pick(60, 1_000);
        var minimumMutations = Scale.Pick(150, 1_000);
        await using var provider = await StartAsync();
        var store = provider.GetRequiredService<IBomTriggerManager>();
        var engine = provider.GetRequiredService<IBomTriggerEngine>();

        // committed[id] = the version whose save has returned; written only by the mutator.
        var committed = new int[MaxTriggers * 2];
        var ids = new List<int>();
        for (var k = 0; k < 16; k++)
        {
            ids.Add((await Save(store, null, k, 0, k % 5)).Id);
        }

        var dispatches = 0;
        var executed = new ConcurrentBag<(Guid CorrelationId, int TriggerId)>();
        var problems = new ConcurrentQueue<string>();
        var done = 0;
        int creates = 0, edits = 0, toggles = 0, mutations = 0;
        var mutatorStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var mutator = Task.Run(async () =>
        {
            var random = new Random(7);
            var versions = new Dictionary<int, int>();
            mutatorStarted.SetResult();
            while (Volatile.Read(ref done) < Clients)
            {
                Interlocked.Increment(ref mutations);
                var roll = random.Next(10);
                if (roll == 0 && ids.Count < MaxTriggers)
                {
                    var trigger = await Save(store, null, ids.Count, 0, random.Next(5));
                    lock (ids)
                    {
                        ids.Add(trigger.Id);
                    }

                    creates++;
                }
                else if (roll < 7)
                {
                    int k;
                    lock (ids)
                    {
                        k = random.Next(ids.Count);
                    }

                    var version = versions.GetValueOrDefault(k) + 1;
                    versions[k] = version;
                    await Save(store, ids[k], k, version, random.Next(5));
                    Volatile.Write(ref committed[k], version);
                    edits++;
                }
                else
                {
                    (await store.ToggleAsync(ids[random.Next(ids.Count)])).Should().NotBeNull();
                    toggles++;
                }
            }
        });

        var clients = Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            try
            {
                // Dispatch at least dispatchesPerClient times and until the mutator has made its share of changes,
                // so the two really overlap however fast one side is.
                await mutatorStarted.Task;
                for (var i = 0; i < dispatchesPerClient || (Volatile.Read(ref mutations) < minimumMutations && !mutator.IsCompleted); i++)
                {
                    var before = new int[committed.Length];
                    for (var k = 0; k < before.Length; k++)
                    {
                        before[k] = Volatile.Read(ref committed[k]);
                    }

                    var report = await engine.DispatchAsync(new BomTriggerEvent(BomTriggerEvents.StatusChange, (client * 100_000) + i, 1, Json.Parse("""{"taskTypeCode":"LOAD","status":"completed"}""")));
                    Interlocked.Increment(ref dispatches);
                    Check(report, before, problems);
                    foreach (var outcome in report.OfKind(TriggerOutcomeKind.Executed))
                    {
                        executed.Add((report.CorrelationId, outcome.TriggerId));
                    }
                }
            }
            catch (Exception ex)
            {
                problems.Enqueue($"client {client} threw {ex}");
            }
            finally
            {
                Interlocked.Increment(ref done);
            }
        })).ToList();

        await Task.WhenAll(clients);
        await mutator;
        problems.Should().BeEmpty(string.Join(Environment.NewLine, problems.Take(5)));

        // Every executed trigger logged exactly once; no log row without an execution; every action ran once.
        var logged = new List<(Guid, int)>();
        foreach (var id in ids)
        {
            logged.AddRange((await BomHost.AllLogsAsync(store, id)).Where(l => l.Outcome == "Executed").Select(l => (l.CorrelationId!.Value, l.TriggerId)));
        }

        var dispatchIds = executed.Select(e => e.CorrelationId).ToHashSet();
        // Sorted comparison: BeEquivalentTo is quadratic on thousands of tuples.
        logged.Count.Should().Be(logged.Distinct().Count(), "no execution is logged twice");
        logged.Order().Should().Equal(executed.Order(), "every execution is logged, and nothing else");
        RecordingAction.Executions.Where(e => dispatchIds.Contains(e.Key.CorrelationId)).Should().HaveCount(executed.Count).And.OnlyContain(e => e.Value == 1);
        Figures.Report(output, string.Create(CultureInfo.InvariantCulture,
            $"{GetType().Name}: {dispatches} dispatches by {Clients} clients during {creates} creates, {edits} edits, {toggles} toggles; {executed.Count} executions, {logged.Count} log rows, 0 problems"));
    }

    private static void Check(DispatchReport report, int[] committedBefore, ConcurrentQueue<string> problems)
    {
        var seen = new HashSet<int>();
        (int Priority, int Id)? previous = null;
        foreach (var outcome in report.Outcomes)
        {
            if (!seen.Add(outcome.TriggerId))
            {
                problems.Enqueue($"dispatch {report.CorrelationId} saw trigger {outcome.TriggerId} twice");
            }

            // Names read "load k{k} v{version} p{priority}".
            var parts = outcome.TriggerName.Split(' ');
            var k = int.Parse(parts[1][1..], CultureInfo.InvariantCulture);
            var version = int.Parse(parts[2][1..], CultureInfo.InvariantCulture);
            var priority = int.Parse(parts[3][1..], CultureInfo.InvariantCulture);
            if (previous is { } p && (p.Priority < priority || (p.Priority == priority && p.Id > outcome.TriggerId)))
            {
                problems.Enqueue($"dispatch {report.CorrelationId} ran trigger {outcome.TriggerId} (priority {priority}) after {p.Id} (priority {p.Priority})");
            }

            previous = (priority, outcome.TriggerId);
            if (version < committedBefore[k])
            {
                problems.Enqueue($"dispatch {report.CorrelationId} saw trigger k{k} at version {version} although version {committedBefore[k]} was saved before it began");
            }

            if (outcome.Kind != TriggerOutcomeKind.Executed)
            {
                problems.Enqueue($"dispatch {report.CorrelationId}: trigger {outcome.TriggerId} {outcome.Kind} {outcome.Error}");
            }
            else if (outcome.Result?.GetProperty("version").GetInt32() != version)
            {
                problems.Enqueue($"dispatch {report.CorrelationId}: trigger {outcome.TriggerId} name says v{version} but its config says {outcome.Result?.GetRawText()}");
            }
        }
    }

    private static async Task<BomTrigger> Save(IBomTriggerManager store, int? id, int k, int version, int priority)
    {
        var definition = new BomTriggerDefinition
        {
            Name = string.Create(CultureInfo.InvariantCulture, $"load k{k} v{version} p{priority}"),
            TriggerEvent = BomTriggerEvents.StatusChange,
            TriggerCondition = Json.Parse("""{"taskTypeCode":"LOAD"}"""),
            ActionType = RecordingAction.Type,
            ActionConfig = Json.Parse(string.Create(CultureInfo.InvariantCulture, $$"""{"version":{{version}}}""")),
            Priority = priority,
        };
        var result = id is null ? await store.CreateAsync(definition) : await store.UpdateAsync(id.Value, definition);
        result.Errors.Should().BeEmpty();
        return result.Trigger!;
    }
}

public sealed class TriggersUnderLoadInMemoryTests(ITestOutputHelper output) : TriggersUnderLoadContract(output)
{
    protected override Task<ServiceProvider> StartAsync() => BomHost.StartAsync(b => b.UseInMemoryStore());
}

public sealed class TriggersUnderLoadPostgresTests(PostgresDatabase database, ITestOutputHelper output) : TriggersUnderLoadContract(output), IClassFixture<PostgresDatabase>
{
    protected override Task<ServiceProvider> StartAsync() =>
        BomHost.StartAsync(b => b.UsePostgres(database.ConnectionString, o => o.Schema = BomHost.NewSchema()));
}
