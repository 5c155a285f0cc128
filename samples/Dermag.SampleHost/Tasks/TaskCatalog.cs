using System.Text.Json.Nodes;

namespace Dermag.SampleHost.Tasks;

/// <summary>The fixed reference data of the sample's domain (task types, materials, BOM templates) and the event data shapes.</summary>
public static class TaskCatalog
{
    public static IReadOnlyList<TaskType> TaskTypes { get; } =
    [
        new(1, "LAN", "LAN installation"),
        new(2, "FIBER", "Fiber optic installation"),
        new(3, "CCTV", "CCTV installation"),
        new(4, "SERVICE", "Service visit"),
    ];

    public static IReadOnlyList<CatalogMaterial> Materials { get; } =
    [
        new("Kabel UTP Cat6", "m", 2.80m, "network"),
        new("Złącze RJ45", "pcs", 0.90m, "network"),
        new("Patch panel 24p", "pcs", 120.00m, "network"),
        new("Kabel światłowodowy SM 12J", "m", 4.50m, "fiber"),
        new("Przełącznica światłowodowa", "pcs", 310.00m, "fiber"),
        new("Kamera IP", "pcs", 450.00m, "cctv"),
    ];

    /// <summary>The BOM templates <c>COPY_BOM</c> copies from, per task type id.</summary>
    public static IReadOnlyDictionary<int, IReadOnlyList<(string Material, decimal Quantity)>> Templates { get; } =
        new Dictionary<int, IReadOnlyList<(string, decimal)>>
        {
            [1] = [("Kabel UTP Cat6", 100m), ("Złącze RJ45", 24m), ("Patch panel 24p", 1m)],
            [2] = [("Kabel światłowodowy SM 12J", 200m), ("Przełącznica światłowodowa", 1m)],
            [3] = [("Kamera IP", 4m), ("Kabel UTP Cat6", 50m)],
        };

    public static TaskType? FindType(string? code) => TaskTypes.FirstOrDefault(t => string.Equals(t.Code, code, StringComparison.OrdinalIgnoreCase));

    public static TaskType TypeById(int id) => TaskTypes.First(t => t.Id == id);

    public static CatalogMaterial? FindMaterial(string name) => Materials.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The data conditions see for a task event: the task fields of the library's event catalog.</summary>
    public static JsonObject EventData(TaskView task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return new JsonObject
        {
            ["taskId"] = task.Id,
            ["taskTypeId"] = task.TaskTypeId,
            ["taskTypeCode"] = task.TaskTypeCode,
            ["taskNumber"] = task.TaskNumber,
            ["title"] = task.Title,
            ["status"] = task.Status,
            ["tags"] = new JsonArray([.. task.Tags.Select(t => (JsonNode?)JsonValue.Create(t))]),
        };
    }

    /// <summary>The data of a material event: the task fields plus the material fields.</summary>
    public static JsonObject MaterialEventData(TaskView task, BomLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var data = EventData(task);
        data["materialName"] = line.MaterialName;
        data["quantity"] = line.Quantity;
        data["unit"] = line.Unit;
        data["material"] = new JsonObject
        {
            ["name"] = line.MaterialName,
            ["category"] = line.Category,
            ["unit"] = line.Unit,
            ["unitPrice"] = line.UnitPrice,
        };
        return data;
    }
}
