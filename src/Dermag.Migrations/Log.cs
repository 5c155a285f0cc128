using Microsoft.Extensions.Logging;

namespace Dermag.Migrations;

internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Applied migration {Library}/{Script} to schema {Schema} in {ElapsedMs} ms")]
    public static partial void ScriptApplied(ILogger logger, string library, string script, string schema, long elapsedMs);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Migration {Library}/{Script} was applied by another instance while this one waited for the lock")]
    public static partial void ScriptAppliedConcurrently(ILogger logger, string library, string script);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Schema {Schema} records migration {Library}/{Script}, which this version of the library does not ship; a newer version may have applied it")]
    public static partial void UnknownScript(ILogger logger, string library, string script, string schema);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Migrations of {Library} in schema {Schema} are up to date")]
    public static partial void UpToDate(ILogger logger, string library, string schema);
}
