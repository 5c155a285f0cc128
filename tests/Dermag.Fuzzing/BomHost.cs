using System.Text.Json;
using Dermag.BomTriggers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Dermag.Fuzzing;

/// <summary>The BOM operations the built-in actions call, doing nothing, and the services both BomTriggers harnesses share.</summary>
internal sealed class BomHost : IBomEditor, IBomCostCalculator, IBomNotificationSender
{
    public static readonly DateTimeOffset Start = new(2026, 11, 29, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Event data with every built-in field, and the values before the change.</summary>
    public static readonly JsonElement FullData = Json("""
        {"taskId":7,"taskTypeId":3,"taskTypeCode":"LAN","taskNumber":"T-2026-001","title":"Install LAN","status":"completed",
         "tags":["urgent","network"],"itemCount":4,"totalCost":280.5,"materialName":"Kabel UTP Cat6","quantity":800,"unit":"m",
         "material":{"name":"Kabel UTP Cat6","category":"network","unit":"m","unitPrice":2.35}}
        """);

    public static readonly JsonElement FullPrevious = Json("""{"status":"in_progress","quantity":100,"tags":["network"]}""");

    public static readonly JsonElement SparseData = Json("""{"status":null,"quantity":-0.0,"tags":[],"material":{"category":"Network"}}""");

    public static ServiceProvider CreateServices(FakeTimeProvider time)
    {
        var host = new BomHost();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton<IBomEditor>(host);
        services.AddSingleton<IBomCostCalculator>(host);
        services.AddSingleton<IBomNotificationSender>(host);
        services.AddBomTriggers(o => o.ActionTimeout = TimeSpan.FromSeconds(30)).UseInMemoryStore();
        return services.BuildServiceProvider();
    }

    public static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    public Task AddMaterialAsync(AddMaterialRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<QuantityChange> UpdateQuantityAsync(UpdateQuantityRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(new QuantityChange(1, 2));

    public Task<int> CopyBomAsync(CopyBomRequest request, CancellationToken cancellationToken) => Task.FromResult(0);

    public Task<decimal> RecalculateAsync(CostRequest request, CancellationToken cancellationToken) => Task.FromResult(280m);

    public Task SendAsync(BomNotification notification, CancellationToken cancellationToken) => Task.CompletedTask;
}
