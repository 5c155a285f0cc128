using Dermag.Migrations;
using Microsoft.Extensions.Options;

namespace Dermag.TokenRotation;

/// <summary>Validates <see cref="RefreshTokenRotationOptions"/>, reporting every problem at once. Messages never contain key material.</summary>
internal sealed class RefreshTokenRotationOptionsValidator : IValidateOptions<RefreshTokenRotationOptions>
{
    private const int MinKeyBytes = 32;
    private static readonly TimeSpan FiveMinutes = TimeSpan.FromMinutes(5);

    public ValidateOptionsResult Validate(string? name, RefreshTokenRotationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Prefix = nameof(RefreshTokenRotationOptions) + ".";
        var errors = new List<string>();

        if (string.IsNullOrWhiteSpace(options.Issuer))
        {
            errors.Add(Prefix + nameof(options.Issuer) + " is required.");
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            errors.Add(Prefix + nameof(options.Audience) + " is required.");
        }

        ValidateKeys(errors, Prefix + nameof(options.AccessSigningKeys), options.AccessSigningKeys);
        ValidateKeys(errors, Prefix + nameof(options.RefreshSigningKeys), options.RefreshSigningKeys);
        var shared = options.AccessSigningKeys.Where(a => a?.Key is not null)
            .Any(a => options.RefreshSigningKeys.Any(r => r?.Key is not null && r.Key.AsSpan().SequenceEqual(a.Key)));
        if (shared)
        {
            errors.Add($"{Prefix}{nameof(options.RefreshSigningKeys)} must not reuse a key of {nameof(options.AccessSigningKeys)}; access and refresh tokens need separate keys.");
        }

        Positive(errors, Prefix + nameof(options.AccessTokenLifetime), options.AccessTokenLifetime);
        Positive(errors, Prefix + nameof(options.RefreshTokenLifetime), options.RefreshTokenLifetime);
        Positive(errors, Prefix + nameof(options.AbsoluteSessionLifetime), options.AbsoluteSessionLifetime);
        Positive(errors, Prefix + nameof(options.CleanupInterval), options.CleanupInterval);
        Between(errors, Prefix + nameof(options.ClockSkew), options.ClockSkew, FiveMinutes);
        Between(errors, Prefix + nameof(options.ReuseGracePeriod), options.ReuseGracePeriod, SessionRules.MaxGracePeriod);
        Between(errors, Prefix + nameof(options.SessionCheckCacheDuration), options.SessionCheckCacheDuration, FiveMinutes);
        Between(errors, Prefix + nameof(options.CleanupRetention), options.CleanupRetention, TimeSpan.FromDays(3650));
        if (options.AuditRetention < TimeSpan.FromDays(1) || options.AuditRetention > TimeSpan.FromDays(3650))
        {
            errors.Add($"{Prefix}{nameof(options.AuditRetention)} must be between 1 day and 3650 days; got {options.AuditRetention}.");
        }

        if (!Enum.IsDefined(options.ReusePolicy))
        {
            errors.Add($"{Prefix}{nameof(options.ReusePolicy)} must be one of {string.Join(", ", Enum.GetNames<TokenReusePolicy>())}; got {(int)options.ReusePolicy}.");
        }

        if (options.CleanupBatchSize is < 1 or > 100_000)
        {
            errors.Add($"{Prefix}{nameof(options.CleanupBatchSize)} must be between 1 and 100000; got {options.CleanupBatchSize}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateKeys(List<string> errors, string option, IList<TokenSigningKey> keys)
    {
        if (keys.Count == 0)
        {
            errors.Add($"{option} needs at least one key (the first signs, all validate).");
            return;
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            if (key is null)
            {
                errors.Add($"{option}[{i}] is null.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(key.KeyId))
            {
                errors.Add($"{option}[{i}].{nameof(TokenSigningKey.KeyId)} is required.");
            }
            else if (!ids.Add(key.KeyId))
            {
                errors.Add($"{option}[{i}].{nameof(TokenSigningKey.KeyId)} '{key.KeyId}' is used by another key in the list.");
            }

            var length = key.Key?.Length ?? 0;
            if (length < MinKeyBytes)
            {
                errors.Add($"{option}[{i}].{nameof(TokenSigningKey.Key)} must be at least 256 bits ({MinKeyBytes} bytes); got {length} bytes.");
            }
        }
    }

    private static void Positive(List<string> errors, string option, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{option} must be positive; got {value}.");
        }
    }

    private static void Between(List<string> errors, string option, TimeSpan value, TimeSpan max)
    {
        if (value < TimeSpan.Zero || value > max)
        {
            errors.Add($"{option} must be between 0 and {max}; got {value}.");
        }
    }
}

/// <summary>
/// Validates what <see cref="PostgresTokenStoreOptions"/> adds to the shared store settings (those are validated by
/// Dermag.Migrations); the host reports the failures of both at once.
/// </summary>
internal sealed class PostgresTokenStoreOptionsValidator : IValidateOptions<PostgresTokenStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresTokenStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Prefix = nameof(PostgresTokenStoreOptions) + ".";
        var errors = new List<string>();
        if (options.UsersTable is not null)
        {
            Identifier(errors, Prefix + nameof(options.UsersTable), options.UsersTable);
            Identifier(errors, Prefix + nameof(options.UsersKeyColumn), options.UsersKeyColumn);
            if (options.UsersTableSchema is not null)
            {
                Identifier(errors, Prefix + nameof(options.UsersTableSchema), options.UsersTableSchema);
            }
        }

        if (!Enum.IsDefined(options.UserIdType))
        {
            errors.Add($"{Prefix}{nameof(options.UserIdType)} must be one of {string.Join(", ", Enum.GetNames<UserIdColumnType>())}; got {(int)options.UserIdType}.");
        }

        if (options.NotificationConnectionString is not null && string.IsNullOrWhiteSpace(options.NotificationConnectionString))
        {
            errors.Add($"{Prefix}{nameof(options.NotificationConnectionString)} is empty; leave it null to listen on the store's data source.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Identifier(List<string> errors, string option, string? value)
    {
        if (!SqlIdentifier.IsValid(value))
        {
            errors.Add(SqlIdentifier.Describe(value, option));
        }
    }
}
