using Dermag.Migrations;

namespace Dermag.TokenRotation;

/// <summary>The SQL type of the <c>user_id</c> columns; it must match the key of the app's users table when a foreign key is used.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The members name the SQL column types.")]
public enum UserIdColumnType
{
    /// <summary><c>text</c>: any string id.</summary>
    Text = 0,

    /// <summary><c>integer</c> (the original system's <c>users.id SERIAL</c>).</summary>
    Integer = 1,

    /// <summary><c>bigint</c>.</summary>
    BigInt = 2,

    /// <summary><c>uuid</c>.</summary>
    Uuid = 3,
}

/// <summary>
/// Settings of the PostgreSQL store (<c>UsePostgres(...)</c>): the shared connection, schema and migration settings of
/// <see cref="PostgresStoreOptions"/> plus the user-id column and notifications. Validated when the host starts.
/// </summary>
public sealed class PostgresTokenStoreOptions : PostgresStoreOptions
{
    /// <inheritdoc />
    /// <value>
    /// Always <see langword="true"/>: the store sets and locks only for the length of a transaction, creates no temporary
    /// tables, and its listener ends <c>LISTEN</c> before it gives its connection back.
    /// </value>
    protected override bool StoreLeavesNoSessionState => true;

    /// <summary>The SQL type of <c>user_id</c>. Fixed when the tables are created.</summary>
    /// <value>The default is <see cref="UserIdColumnType.Text"/>.</value>
    public UserIdColumnType UserIdType { get; set; } = UserIdColumnType.Text;

    /// <summary>
    /// The app's users table; when set, <c>refresh_tokens.user_id</c> references it with <c>ON DELETE CASCADE</c> (as in the
    /// original system), so deleting a user ends their sessions. The table must exist before the migration runs.
    /// </summary>
    /// <value>The default is <see langword="null"/> (no foreign key).</value>
    public string? UsersTable { get; set; }

    /// <summary>The schema of <see cref="UsersTable"/>.</summary>
    /// <value>The default is <see langword="null"/>, meaning <see cref="PostgresStoreOptions.Schema"/>.</value>
    public string? UsersTableSchema { get; set; }

    /// <summary>The key column of <see cref="UsersTable"/>.</summary>
    /// <value>The default is <c>id</c>.</value>
    public string UsersKeyColumn { get; set; } = "id";

    /// <summary>
    /// Whether revocations are published with <c>NOTIFY</c> on the schema's channel and heard with <c>LISTEN</c> by a hosted
    /// service in every instance, which drops the cached paranoid-mode answers of revoked sessions at once. Turn it off
    /// only when no instance caches session checks or staleness up to <c>SessionCheckCacheDuration</c> is acceptable.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool RevocationNotifications { get; set; } = true;

    /// <summary>
    /// A connection string for the one long-lived <c>LISTEN</c> connection, when the store's own connections go through a
    /// pooler that cannot carry <c>LISTEN</c> (PgBouncer in transaction mode): point it at PostgreSQL directly or at a
    /// session-mode pool. <c>NOTIFY</c> itself is sent by the store's statements and works through any pooler.
    /// </summary>
    /// <value>The default is <see langword="null"/> (the store's data source).</value>
    public string? NotificationConnectionString { get; set; }

    internal string UserIdSqlType => UserIdType switch
    {
        UserIdColumnType.Integer => "integer",
        UserIdColumnType.BigInt => "bigint",
        UserIdColumnType.Uuid => "uuid",
        _ => "text",
    };

    internal string UsersForeignKeyClause => UsersTable is null
        ? string.Empty
        : $" REFERENCES {SqlIdentifier.Quote(UsersTableSchema ?? Schema, nameof(UsersTableSchema))}.{SqlIdentifier.Quote(UsersTable, nameof(UsersTable))} ({SqlIdentifier.Quote(UsersKeyColumn, nameof(UsersKeyColumn))}) ON DELETE CASCADE";
}
