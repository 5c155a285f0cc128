namespace Dermag.BomTriggers;

/// <summary>The clause that made a condition false.</summary>
/// <param name="Path">A JSON Pointer to the clause, for example <c>/triggerCondition/status</c>.</param>
/// <param name="Clause">The clause in words, for example <c>status $eq "completed"</c>.</param>
/// <param name="Actual">The value the event had, as JSON, or <c>missing</c>.</param>
public sealed record ConditionFailure(string Path, string Clause, string Actual)
{
    /// <inheritdoc />
    public override string ToString() => $"{Path}: {Clause} was false (actual {Actual})";
}

/// <summary>One evaluated clause of an explained condition.</summary>
/// <param name="Path">A JSON Pointer to the clause.</param>
/// <param name="Clause">The clause in words.</param>
/// <param name="Passed">Whether it held.</param>
/// <param name="Actual">The value the event had, as JSON, or <c>missing</c> (for combinators, a summary).</param>
public sealed record ConditionTrace(string Path, string Clause, bool Passed, string Actual);

/// <summary>Why a condition did or did not match some event data.</summary>
/// <param name="Matched">Whether the condition matched.</param>
/// <param name="Failure">The first clause that failed, when it did not match.</param>
/// <param name="Trace">Every clause evaluated, in order.</param>
public sealed record ConditionExplanation(bool Matched, ConditionFailure? Failure, IReadOnlyList<ConditionTrace> Trace);
