using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers.Dashboard;

/// <summary>
/// The dashboard's JSON API: a thin layer over <see cref="IBomTriggerManager"/>, <see cref="IBomTriggerEngine"/> and
/// <see cref="IBomTriggerJobManager"/>. Every list is paged on the server. Changes pass <see cref="WriteGuard"/>: the
/// user must be allowed to edit (403 otherwise) and send a valid antiforgery token (400 otherwise) before anything runs.
/// </summary>
internal static class DashboardApi
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static void Map(RouteGroupBuilder api)
    {
        api.AddEndpointFilter(async (context, next) =>
        {
            context.HttpContext.Response.Headers.CacheControl = "no-store";
            return await next(context).ConfigureAwait(false);
        });

        api.MapGet("/meta", Meta);
        api.MapGet("/triggers", ListTriggers);
        api.MapGet("/triggers/{id:int}", GetTrigger);
        api.MapGet("/triggers/{id:int}/history", History);
        api.MapPost("/validate", Validate);
        api.MapPost("/test", DryRun);
        api.MapGet("/runs", Runs);
        api.MapGet("/runs/failures", Failures);
        api.MapGet("/chains/{correlationId:guid}", Chain);
        api.MapGet("/jobs", Jobs);
        api.MapGet("/jobs/counts", async (IBomTriggerJobManager jobs, CancellationToken ct) => Ok(await jobs.GetCountsAsync(ct).ConfigureAwait(false)));

        var writes = api.MapGroup(string.Empty);
        writes.AddEndpointFilter(WriteGuard);
        writes.MapPost("/triggers", Create);
        writes.MapPut("/triggers/{id:int}", Update);
        writes.MapDelete("/triggers/{id:int}", Delete);
        writes.MapPost("/triggers/{id:int}/toggle", Toggle);
        writes.MapPost("/jobs/{id:long}/retry", async (long id, IBomTriggerJobManager jobs, CancellationToken ct) =>
            await jobs.RetryAsync(id, ct).ConfigureAwait(false) ? Ok(new { retried = id }) : Problem(StatusCodes.Status409Conflict, "Only a dead or discarded job can be retried; this one does not exist or is not."));
        writes.MapPost("/jobs/{id:long}/discard", async (long id, IBomTriggerJobManager jobs, CancellationToken ct) =>
            await jobs.DiscardAsync(id, ct).ConfigureAwait(false) ? Ok(new { discarded = id }) : Problem(StatusCodes.Status409Conflict, "Only a pending or dead job can be discarded; this one does not exist or is not."));
    }

    /// <summary>Refuses a change before it runs: 403 for a read-only user, 400 without a valid antiforgery token.</summary>
    private static async ValueTask<object?> WriteGuard(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!await CanEditAsync(http).ConfigureAwait(false))
        {
            return Problem(StatusCodes.Status403Forbidden, "This dashboard is read-only for you.");
        }

        try
        {
            await http.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(http).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            return Problem(StatusCodes.Status400BadRequest, "The antiforgery token is missing or invalid; reload the page.");
        }

        return await next(context).ConfigureAwait(false);
    }

    internal static async Task<bool> CanEditAsync(HttpContext http)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<BomTriggersDashboardOptions>>().Value;
        if (options.IsReadOnly?.Invoke(http) == true)
        {
            return false;
        }

        if (options.EditPolicy is not { } policy)
        {
            return true;
        }

        var result = await http.RequestServices.GetRequiredService<IAuthorizationService>().AuthorizeAsync(http.User, policy).ConfigureAwait(false);
        return result.Succeeded;
    }

    private static async Task<IResult> Meta(HttpContext http, IBomTriggerManager manager, IAntiforgery antiforgery, IOptions<BomTriggersDashboardOptions> options)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        var o = options.Value;
        return Ok(new
        {
            title = o.Title,
            appUrl = o.AppUrl,
            user = http.User.Identity?.Name,
            canEdit = await CanEditAsync(http).ConfigureAwait(false),
            antiforgery = new { headerName = tokens.HeaderName, token = tokens.RequestToken },
            countsWindowHours = o.CountsWindow.TotalHours,
            maxPageSize = o.MaxPageSize,
            events = manager.ListEvents(),
            operators = manager.ListOperators(),
            actions = manager.ListActions(),
        });
    }

    private static async Task<IResult> ListTriggers(
        HttpContext http,
        IBomTriggerManager manager,
        IOptions<BomTriggersDashboardOptions> options,
        TimeProvider? time,
        string? search,
        string? @event,
        string? action,
        bool? active,
        int? offset,
        int? limit,
        CancellationToken ct)
    {
        var (skip, take) = Page(offset, limit, options.Value);
        var all = await manager.ListAsync(new BomTriggerQuery { TriggerEvent = Empty(@event), IsActive = active }, ct).ConfigureAwait(false);
        IEnumerable<BomTrigger> matching = all;
        if (Empty(action) is { } actionType)
        {
            matching = matching.Where(t => string.Equals(t.ActionType, actionType, StringComparison.Ordinal));
        }

        if (Empty(search) is { } text)
        {
            var id = int.TryParse(text.TrimStart('#'), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (int?)null;
            matching = matching.Where(t => t.Id == id
                || t.Name.Contains(text, StringComparison.OrdinalIgnoreCase)
                || (t.Description?.Contains(text, StringComparison.OrdinalIgnoreCase) ?? false)
                || t.ActionType.Contains(text, StringComparison.OrdinalIgnoreCase));
        }

        var filtered = matching.ToList();
        var page = filtered.Skip(skip).Take(take).ToList();
        var since = (time ?? TimeProvider.System).GetUtcNow() - options.Value.CountsWindow;
        var summaries = (await manager.GetRunSummariesAsync([.. page.Select(t => t.Id)], since, ct).ConfigureAwait(false)).ToDictionary(s => s.TriggerId);
        return Ok(new
        {
            total = filtered.Count,
            offset = skip,
            limit = take,
            items = page.Select(t => new
            {
                t.Id,
                t.Name,
                t.Description,
                t.TriggerEvent,
                t.TriggerCondition,
                t.ActionType,
                t.Priority,
                t.IsActive,
                t.Version,
                t.UpdatedAt,
                queued = t.Execution.IsQueued,
                runs = summaries.GetValueOrDefault(t.Id),
            }),
        });
    }

    private static async Task<IResult> GetTrigger(int id, IBomTriggerManager manager, CancellationToken ct) =>
        await manager.GetAsync(id, ct).ConfigureAwait(false) is { } trigger ? Ok(trigger) : Problem(StatusCodes.Status404NotFound, $"Trigger {id} does not exist.");

    private static async Task<IResult> History(int id, IBomTriggerManager manager, IOptions<BomTriggersDashboardOptions> options, int? offset, int? limit, CancellationToken ct)
    {
        var (skip, take) = Page(offset, limit, options.Value);
        return Ok(await manager.GetHistoryAsync(id, take, skip, ct).ConfigureAwait(false));
    }

    private static async Task<IResult> Validate(HttpContext http, IBomTriggerManager manager)
    {
        var definition = await ReadAsync<BomTriggerDefinition>(http).ConfigureAwait(false);
        return definition is null ? BadJson() : Ok(new { errors = manager.Validate(definition) });
    }

    internal sealed record DryRunRequest(BomTriggerDefinition? Definition, JsonElement? TestData, JsonElement? PreviousValues, int TaskId, int? TaskTypeId);

    private static async Task<IResult> DryRun(HttpContext http, IBomTriggerEngine engine, CancellationToken ct)
    {
        var request = await ReadAsync<DryRunRequest>(http).ConfigureAwait(false);
        if (request?.Definition is not { } definition || request.TestData is not { ValueKind: JsonValueKind.Object } data)
        {
            return Problem(StatusCodes.Status400BadRequest, "Send {\"definition\": {...}, \"testData\": {...}} (testData must be a JSON object).");
        }

        var previous = request.PreviousValues is { ValueKind: JsonValueKind.Object } p ? p : (JsonElement?)null;
        var result = await engine.TestAsync(definition, new TriggerTestRequest(data) { PreviousValues = previous, TaskId = request.TaskId, TaskTypeId = request.TaskTypeId }, ct).ConfigureAwait(false);
        return Ok(result);
    }

    private static async Task<IResult> Create(HttpContext http, IBomTriggerManager manager, CancellationToken ct)
    {
        var definition = await ReadAsync<BomTriggerDefinition>(http).ConfigureAwait(false);
        if (definition is null)
        {
            return BadJson();
        }

        var result = await manager.CreateAsync(definition with { CreatedBy = null }, UserId(http.User), ct).ConfigureAwait(false);
        return result.Succeeded
            ? Results.Json(result.Trigger, Json, statusCode: StatusCodes.Status201Created)
            : Results.Json(new { errors = result.Errors }, Json, statusCode: StatusCodes.Status422UnprocessableEntity);
    }

    private static async Task<IResult> Update(int id, HttpContext http, IBomTriggerManager manager, CancellationToken ct)
    {
        var definition = await ReadAsync<BomTriggerDefinition>(http).ConfigureAwait(false);
        if (definition is null)
        {
            return BadJson();
        }

        var result = await manager.UpdateAsync(id, definition, UserId(http.User), ct).ConfigureAwait(false);
        return result switch
        {
            { Succeeded: true } => Ok(result.Trigger),
            { NotFound: true } => Problem(StatusCodes.Status404NotFound, $"Trigger {id} does not exist."),
            _ => Results.Json(new { errors = result.Errors }, Json, statusCode: StatusCodes.Status422UnprocessableEntity),
        };
    }

    private static async Task<IResult> Delete(int id, HttpContext http, IBomTriggerManager manager, CancellationToken ct) =>
        await manager.DeleteAsync(id, UserId(http.User), ct).ConfigureAwait(false) ? Results.NoContent() : Problem(StatusCodes.Status404NotFound, $"Trigger {id} does not exist.");

    private static async Task<IResult> Toggle(int id, HttpContext http, IBomTriggerManager manager, CancellationToken ct) =>
        await manager.ToggleAsync(id, UserId(http.User), ct).ConfigureAwait(false) is { } trigger ? Ok(trigger) : Problem(StatusCodes.Status404NotFound, $"Trigger {id} does not exist.");

    private static async Task<IResult> Runs(
        IBomTriggerManager manager,
        IOptions<BomTriggersDashboardOptions> options,
        int? triggerId,
        int? taskId,
        string? outcome,
        DateTimeOffset? from,
        DateTimeOffset? to,
        Guid? correlationId,
        int? offset,
        int? limit,
        CancellationToken ct)
    {
        var (skip, take) = Page(offset, limit, options.Value);
        TriggerOutcomeKind? kind = null;
        if (Empty(outcome) is { } name)
        {
            if (!Enum.TryParse<TriggerOutcomeKind>(name, ignoreCase: false, out var parsed))
            {
                return Problem(StatusCodes.Status400BadRequest, "outcome must be Executed, Failed or SuppressedLoop.");
            }

            kind = parsed;
        }

        var page = await manager.QueryLogsAsync(
            new BomTriggerLogQuery { TriggerId = triggerId, TaskId = taskId, Outcome = kind, From = from, To = to, CorrelationId = correlationId, Offset = skip, Limit = take, CountTotal = false },
            ct).ConfigureAwait(false);
        var names = await NamesAsync(manager, ct).ConfigureAwait(false);
        // Not counted: an exact total reads every matching row (about a second at a million); the pager needs only "is there more".
        return Ok(new { total = page.Total, exact = page.IsTotalExact, offset = skip, limit = take, items = page.Items.Select(l => Row(l, names, withData: false)) });
    }

    private static async Task<IResult> Failures(IBomTriggerManager manager, int? limit, CancellationToken ct)
    {
        var failures = await manager.GetRecentFailuresAsync(Math.Clamp(limit ?? 10, 1, 50), ct).ConfigureAwait(false);
        var names = await NamesAsync(manager, ct).ConfigureAwait(false);
        return Ok(new { items = failures.Select(l => Row(l, names, withData: false)) });
    }

    /// <summary>Every run of one dispatch chain (at most 1000, the query's page limit) and the jobs it queued.</summary>
    private static async Task<IResult> Chain(Guid correlationId, IBomTriggerManager manager, IBomTriggerJobManager jobs, CancellationToken ct)
    {
        var page = await manager.QueryLogsAsync(new BomTriggerLogQuery { CorrelationId = correlationId, Limit = 1000 }, ct).ConfigureAwait(false);
        var queued = await jobs.QueryAsync(new BomTriggerJobQuery { CorrelationId = correlationId, Limit = 200 }, ct).ConfigureAwait(false);
        var names = await NamesAsync(manager, ct).ConfigureAwait(false);
        return Ok(new
        {
            correlationId,
            total = page.Total,
            runs = page.Items.OrderBy(l => l.Depth).ThenBy(l => l.ExecutedAt).ThenBy(l => l.Id).Select(l => Row(l, names, withData: true)),
            jobs = queued.Items.Select(j => JobRow(j, names)),
        });
    }

    private static async Task<IResult> Jobs(
        IBomTriggerJobManager jobs,
        IBomTriggerManager manager,
        IOptions<BomTriggersDashboardOptions> options,
        string? state,
        int? triggerId,
        int? offset,
        int? limit,
        CancellationToken ct)
    {
        var (skip, take) = Page(offset, limit, options.Value);
        var query = new BomTriggerJobQuery { TriggerId = triggerId, Offset = skip, Limit = take };
        query = Empty(state) switch
        {
            null or "all" => query,
            "pending" => query with { State = BomTriggerJobState.Pending, Retrying = false },
            "retrying" => query with { State = BomTriggerJobState.Pending, Retrying = true },
            "running" => query with { State = BomTriggerJobState.Running },
            "dead" => query with { State = BomTriggerJobState.Dead },
            "succeeded" => query with { State = BomTriggerJobState.Succeeded },
            "skipped" => query with { State = BomTriggerJobState.Skipped },
            "discarded" => query with { State = BomTriggerJobState.Discarded },
            _ => null!,
        };
        if (query is null)
        {
            return Problem(StatusCodes.Status400BadRequest, "state must be all, pending, retrying, running, dead, succeeded, skipped or discarded.");
        }

        var page = await jobs.QueryAsync(query, ct).ConfigureAwait(false);
        var names = await NamesAsync(manager, ct).ConfigureAwait(false);
        return Ok(new { total = page.Total, offset = skip, limit = take, items = page.Items.Select(j => JobRow(j, names)) });
    }

    private static object Row(BomTriggerLog l, IReadOnlyDictionary<int, string> names, bool withData) => new
    {
        l.Id,
        l.TriggerId,
        triggerName = names.GetValueOrDefault(l.TriggerId),
        l.TaskId,
        l.ExecutedAt,
        l.Success,
        l.Outcome,
        durationMs = l.Duration?.TotalMilliseconds,
        l.ErrorMessage,
        l.CorrelationId,
        l.Depth,
        l.JobId,
        l.Attempt,
        l.CausedByTriggerId,
        inputData = withData ? l.InputData : null,
        resultData = withData ? l.ResultData : null,
    };

    private static object JobRow(BomTriggerJob j, IReadOnlyDictionary<int, string> names) => new
    {
        j.Id,
        j.TriggerId,
        triggerName = names.GetValueOrDefault(j.TriggerId),
        state = j.State == BomTriggerJobState.Pending && j.Attempt > 0 ? "Retrying" : j.State.ToString(),
        j.Kind,
        eventType = j.Event.EventType,
        taskId = j.Event.TaskId,
        j.CorrelationId,
        j.Depth,
        j.Attempt,
        j.MaxAttempts,
        j.DueAt,
        j.CreatedAt,
        j.UpdatedAt,
        j.LastError,
        j.FinishedAt,
        canRetry = j.State is BomTriggerJobState.Dead or BomTriggerJobState.Discarded,
        canDiscard = j.State is BomTriggerJobState.Pending or BomTriggerJobState.Dead,
    };

    /// <summary>Trigger names by id, deleted ones included (their runs stay).</summary>
    private static async Task<IReadOnlyDictionary<int, string>> NamesAsync(IBomTriggerManager manager, CancellationToken ct)
    {
        var live = await manager.ListAsync(null, ct).ConfigureAwait(false);
        var deleted = await manager.ListAsync(new BomTriggerQuery { Deleted = true }, ct).ConfigureAwait(false);
        return live.Concat(deleted).GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.First().Name + (g.First().DeletedAt is null ? string.Empty : " (deleted)"));
    }

    private static (int Offset, int Limit) Page(int? offset, int? limit, BomTriggersDashboardOptions options) =>
        (Math.Max(0, offset ?? 0), Math.Clamp(limit ?? 50, 1, options.MaxPageSize));

    private static string? Empty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static int? UserId(ClaimsPrincipal user) =>
        int.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier) ?? user.FindFirstValue("sub"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? id : null;

    private static async Task<T?> ReadAsync<T>(HttpContext http)
        where T : class
    {
        if (!http.Request.HasJsonContentType())
        {
            return null;
        }

        try
        {
            return await http.Request.ReadFromJsonAsync<T>(Json, http.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IResult Ok(object? value) => Results.Json(value, Json);

    private static IResult BadJson() => Problem(StatusCodes.Status400BadRequest, "The body must be a JSON trigger definition (Content-Type: application/json).");

    /// <summary>An RFC 9457 problem details response (<c>application/problem+json</c>), as the token endpoints answer; <c>detail</c> says what to do.</summary>
    private static IResult Problem(int status, string message) => Results.Problem(detail: message, statusCode: status);
}
