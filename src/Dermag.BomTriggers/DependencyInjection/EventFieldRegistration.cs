namespace Dermag.BomTriggers;

/// <summary>An extra event field registered with <c>AddEventField</c>.</summary>
internal sealed record EventFieldRegistration(string EventType, BomEventField Field);

/// <summary>An event type of the host's registered with <c>AddEventType</c>.</summary>
internal sealed record EventTypeRegistration(string EventType, string Description, bool SupportsPreviousValues);
