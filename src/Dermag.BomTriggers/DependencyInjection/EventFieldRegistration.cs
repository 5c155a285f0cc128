namespace Dermag.BomTriggers;

/// <summary>An extra event field registered with <c>AddEventField</c>.</summary>
internal sealed record EventFieldRegistration(string EventType, BomEventField Field);
