using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dermag.BomTriggers;

/// <summary>Validates <see cref="BomTriggerOptions"/>, reporting every problem at once.</summary>
internal sealed class BomTriggerOptionsValidator : IValidateOptions<BomTriggerOptions>
{
    public ValidateOptionsResult Validate(string? name, BomTriggerOptions options)
    {
        var errors = new List<string>();
        if (options.ActionTimeout <= TimeSpan.Zero || options.ActionTimeout > TimeSpan.FromHours(1))
        {
            errors.Add($"BomTriggerOptions.ActionTimeout must be positive and at most 01:00:00; got {options.ActionTimeout}.");
        }

        if (options.LogRetention < TimeSpan.FromDays(1) || options.LogRetention > TimeSpan.FromDays(3650))
        {
            errors.Add($"BomTriggerOptions.LogRetention must be between 1 day and 3650 days; got {options.LogRetention}.");
        }

        if (options.CleanupBatchSize is < 1 or > 100_000)
        {
            errors.Add($"BomTriggerOptions.CleanupBatchSize must be between 1 and 100000; got {options.CleanupBatchSize}.");
        }

        if (options.CleanupInterval <= TimeSpan.Zero)
        {
            errors.Add($"BomTriggerOptions.CleanupInterval must be positive; got {options.CleanupInterval}.");
        }

        if (options.EventCountFlushInterval < TimeSpan.FromMilliseconds(100) || options.EventCountFlushInterval > TimeSpan.FromMinutes(5))
        {
            errors.Add($"BomTriggerOptions.EventCountFlushInterval must be between 100 milliseconds and 5 minutes; got {options.EventCountFlushInterval}.");
        }

        if (options.ActionCancellationGrace < TimeSpan.Zero || options.ActionCancellationGrace > TimeSpan.FromMinutes(1))
        {
            errors.Add($"BomTriggerOptions.ActionCancellationGrace must be between 0 and 00:01:00; got {options.ActionCancellationGrace}.");
        }

        if (options.MaxChainDepth is < 0 or > 100)
        {
            errors.Add($"BomTriggerOptions.MaxChainDepth must be between 0 and 100; got {options.MaxChainDepth}.");
        }

        if (options.SnapshotRefreshInterval <= TimeSpan.Zero)
        {
            errors.Add($"BomTriggerOptions.SnapshotRefreshInterval must be positive; got {options.SnapshotRefreshInterval}.");
        }

        Range(options.WorkerCount, 0, 256, nameof(options.WorkerCount), errors);
        Range(options.MaxAttempts, 1, 100, nameof(options.MaxAttempts), errors);
        Range(options.JobLeaseDuration, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), nameof(options.JobLeaseDuration), errors);
        Range(options.JobPollInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(5), nameof(options.JobPollInterval), errors);
        Range(options.RetryBaseDelay, TimeSpan.Zero, TimeSpan.FromHours(1), nameof(options.RetryBaseDelay), errors);
        Range(options.RetryMaxDelay, options.RetryBaseDelay, TimeSpan.FromDays(7), nameof(options.RetryMaxDelay), errors);
        Range(options.ShutdownTimeout, TimeSpan.Zero, TimeSpan.FromMinutes(5), nameof(options.ShutdownTimeout), errors);
        Range(options.FinishedJobRetention, TimeSpan.FromHours(1), TimeSpan.FromDays(3650), nameof(options.FinishedJobRetention), errors);

        if (options.Store == TriggerStoreKind.None)
        {
            errors.Add(BomTriggersServiceCollectionExtensions.NoStoreMessage);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Range<T>(T value, T min, T max, string option, List<string> errors)
        where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
        {
            errors.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"BomTriggerOptions.{option} must be between {min} and {max}; got {value}."));
        }
    }
}
