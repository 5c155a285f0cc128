using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Dermag.Testing;

/// <summary>
/// An <see cref="ILoggerProvider"/> that keeps every entry its loggers write at <see cref="MinimumLevel"/> or above, for
/// tests that assert what was (or was not) logged. Safe to log to from any number of threads while a test reads it.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLogEntry> _entries = new();

    /// <summary>Keeps the entries at <paramref name="minimumLevel"/> or above; every entry by default.</summary>
    public CapturedLogs(LogLevel minimumLevel = LogLevel.Trace)
    {
        MinimumLevel = minimumLevel;
    }

    /// <summary>The lowest level kept; the loggers report lower levels as not enabled.</summary>
    public LogLevel MinimumLevel { get; }

    /// <summary>A snapshot of the entries kept so far, oldest first.</summary>
    public IReadOnlyList<CapturedLogEntry> Entries => _entries.ToArray();

    /// <summary>A snapshot of the entries kept so far as <see cref="CapturedLogEntry.Line"/>s, oldest first.</summary>
    public IReadOnlyList<string> Lines => [.. _entries.Select(e => e.Line)];

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Waits (polling every 20 ms) until a <see cref="CapturedLogEntry.Line"/> contains <paramref name="text"/>; false after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForAsync(string text, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!_entries.Any(e => e.Line.Contains(text, StringComparison.Ordinal)))
        {
            if (watch.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? pairs.ToList() : [];
                owner._entries.Enqueue(new CapturedLogEntry(category, logLevel, eventId, formatter(state, exception), exception, values));
            }
        }
    }
}

/// <summary>One entry a <see cref="CapturedLogs"/> logger was given.</summary>
/// <param name="Category">The logger's category (usually the full name of the type that logs).</param>
/// <param name="Level">The entry's level.</param>
/// <param name="EventId">The entry's event id.</param>
/// <param name="Message">The formatted message, without the exception.</param>
/// <param name="Exception">The exception logged with the entry, if any.</param>
/// <param name="Values">The structured values of the entry's state (for a message template, each placeholder's value and <c>{OriginalFormat}</c>).</param>
public sealed record CapturedLogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception, IReadOnlyList<KeyValuePair<string, object?>> Values)
{
    /// <summary>
    /// Everything the entry carries as one line: <c>Level Category [EventId] Message Key=Value | … Exception</c>, with the
    /// exception's full text (type, message, stack trace and inner exceptions); what to search to assert that a secret was
    /// never logged. Written when the entry is made, so it shows the values as they were when logged.
    /// </summary>
    public string Line { get; } = $"{Level} {Category} [{EventId.Id}] {Message} {string.Join(" | ", Values.Select(p => $"{p.Key}={p.Value}"))} {Exception}";

    /// <summary>The <see cref="Line"/>.</summary>
    public override string ToString() => Line;
}
