using System.Globalization;
using Dermag.Migrations;
using Dermag.TokenRotation;
using Dermag.TokenRotation.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Microsoft.EntityFrameworkCore;

/// <summary>Maps the Dermag.TokenRotation tables into an app's own DbContext.</summary>
public static class TokenRotationModelBuilderExtensions
{
    /// <summary>
    /// Maps <c>refresh_sessions</c> as <see cref="RefreshSessionEntity"/>, <c>refresh_tokens</c> as
    /// <see cref="RefreshTokenEntity"/> and <c>audit_logs</c> as <see cref="AuditLogEntity"/>, excluded from EF migrations (the
    /// library's own migrations own them), so sessions, tokens and audit rows can be queried with LINQ.
    /// </summary>
    /// <param name="modelBuilder">The model builder of the app's DbContext.</param>
    /// <param name="schema">The schema given to <c>UsePostgres</c>.</param>
    /// <param name="userIdType">The user-id column type given to <c>UsePostgres</c>; the entities expose the id as text.</param>
    public static ModelBuilder MapTokenRotationTables(this ModelBuilder modelBuilder, string schema = "public", UserIdColumnType userIdType = UserIdColumnType.Text)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        if (!SqlIdentifier.IsValid(schema))
        {
            throw new ArgumentException(SqlIdentifier.Describe(schema, nameof(schema)), nameof(schema));
        }

        modelBuilder.Entity<RefreshTokenEntity>(e =>
        {
            e.ToTable("refresh_tokens", schema, t => t.ExcludeFromMigrations());
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.TokenId).HasColumnName("token_id");
            UserId(e.Property(x => x.UserId).HasColumnName("user_id"), userIdType);
            e.Property(x => x.SessionId).HasColumnName("session_id");
            e.Property(x => x.ParentTokenId).HasColumnName("parent_token_id");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.ExpiresAt).HasColumnName("expires_at");
            e.Property(x => x.SessionCreatedAt).HasColumnName("session_created_at");
            e.Property(x => x.SessionExpiresAt).HasColumnName("session_expires_at");
            e.Property(x => x.LastUsedAt).HasColumnName("last_used_at");
            e.Property(x => x.Revoked).HasColumnName("revoked");
            e.Property(x => x.RevokedAt).HasColumnName("revoked_at");
            e.Property(x => x.RevokedByTokenId).HasColumnName("revoked_by_token_id");
            e.Property(x => x.RevokeReason).HasColumnName("revoke_reason").HasMaxLength(32);
            e.Property(x => x.IpAddress).HasColumnName("ip_address").HasMaxLength(45);
            e.Property(x => x.UserAgent).HasColumnName("user_agent");
            e.Property(x => x.DeviceFingerprint).HasColumnName("device_fingerprint");
            e.HasIndex(x => x.TokenId).IsUnique();
        });

        modelBuilder.Entity<RefreshSessionEntity>(e =>
        {
            e.ToTable("refresh_sessions", schema, t => t.ExcludeFromMigrations());
            e.HasKey(x => x.SessionId);
            e.Property(x => x.SessionId).HasColumnName("session_id");
            UserId(e.Property(x => x.UserId).HasColumnName("user_id"), userIdType);
            e.Property(x => x.CurrentTokenId).HasColumnName("current_token_id");
            e.Property(x => x.CurrentIssuedAt).HasColumnName("current_issued_at");
            e.Property(x => x.CurrentExpiresAt).HasColumnName("current_expires_at");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.ExpiresAt).HasColumnName("expires_at");
            e.Property(x => x.LastUsedAt).HasColumnName("last_used_at");
            e.Property(x => x.Revoked).HasColumnName("revoked");
            e.Property(x => x.RevokedAt).HasColumnName("revoked_at");
            e.Property(x => x.RevokeReason).HasColumnName("revoke_reason").HasMaxLength(32);
            e.Property(x => x.IpAddress).HasColumnName("ip_address").HasMaxLength(45);
            e.Property(x => x.UserAgent).HasColumnName("user_agent");
            e.Property(x => x.DeviceFingerprint).HasColumnName("device_fingerprint");
        });

        modelBuilder.Entity<AuditLogEntity>(e =>
        {
            e.ToTable("audit_logs", schema, t => t.ExcludeFromMigrations());
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.EventType).HasColumnName("event_type").HasMaxLength(100);
            UserId(e.Property(x => x.UserId).HasColumnName("user_id"), userIdType);
            e.Property(x => x.IpAddress).HasColumnName("ip_address").HasMaxLength(45);
            e.Property(x => x.Details).HasColumnName("details").HasColumnType("jsonb");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
        });

        return modelBuilder;
    }

    private static void UserId(PropertyBuilder property, UserIdColumnType type)
    {
        switch (type)
        {
            case UserIdColumnType.Integer:
                property.HasConversion(new ValueConverter<string, int>(v => int.Parse(v, CultureInfo.InvariantCulture), v => v.ToString(CultureInfo.InvariantCulture))).HasColumnType("integer");
                break;
            case UserIdColumnType.BigInt:
                property.HasConversion(new ValueConverter<string, long>(v => long.Parse(v, CultureInfo.InvariantCulture), v => v.ToString(CultureInfo.InvariantCulture))).HasColumnType("bigint");
                break;
            case UserIdColumnType.Uuid:
                property.HasConversion(new ValueConverter<string, Guid>(v => Guid.Parse(v), v => v.ToString("D"))).HasColumnType("uuid");
                break;
            default:
                property.HasColumnType("text");
                break;
        }
    }
}
