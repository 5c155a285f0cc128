using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;

namespace Dermag.SampleHost.Demo;

/// <summary>A user of the demo: id, name and role. The password hash never leaves <see cref="DemoUserStore"/>.</summary>
/// <param name="Id">The user id, the JWT <c>sub</c>.</param>
/// <param name="Username">The login name.</param>
/// <param name="Role">One of <see cref="Roles"/>.</param>
/// <param name="DisplayName">A friendly name.</param>
public sealed record DemoUser(int Id, string Username, string Role, string DisplayName);

/// <summary>The roles of the original system that the sample uses.</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Manager = "manager";
    public const string BomEditor = "bom_editor";
    public const string Technician = "technician";
}

/// <summary>
/// The demo's users, with passwords stored as ASP.NET Core Identity hashes (<see cref="PasswordHasher{TUser}"/>, format v3:
/// PBKDF2 with HMAC-SHA512 and a random salt; the sample sets <see cref="PasswordHashIterations"/>, OWASP's figure for that
/// function, instead of Identity's default of 100,000). The passwords are the documented demo passwords; a real app keeps
/// users in its own database (or uses ASP.NET Core Identity itself).
/// </summary>
/// <remarks>
/// A login for an unknown user verifies the password against a dummy hash, so it costs the same as a wrong password and the
/// response time does not tell which user names exist.
/// </remarks>
public sealed class DemoUserStore
{
    /// <summary>PBKDF2-HMAC-SHA512 iterations: OWASP's Password Storage Cheat Sheet recommends 210,000.</summary>
    public const int PasswordHashIterations = 210_000;

    /// <summary>The demo accounts and their passwords, as README lists them.</summary>
    public static IReadOnlyList<(string Username, string Password, string Role, string DisplayName)> Accounts { get; } =
    [
        ("admin", "Admin123!", Roles.Admin, "Ada Admin"),
        ("manager", "Manager123!", Roles.Manager, "Marek Manager"),
        ("bom_editor", "Editor123!", Roles.BomEditor, "Ewa Editor"),
        ("technician", "Tech123!", Roles.Technician, "Tomasz Technician"),
    ];

    private static readonly DemoUser NoUser = new(0, string.Empty, string.Empty, string.Empty);

    private readonly Dictionary<string, (DemoUser User, string Hash)> _users = new(StringComparer.OrdinalIgnoreCase);
    private readonly IPasswordHasher<DemoUser> _hasher;
    private readonly string _dummyHash;

    public DemoUserStore(IPasswordHasher<DemoUser> hasher)
    {
        _hasher = hasher;
        var id = 1;
        foreach (var (username, password, role, displayName) in Accounts)
        {
            var user = new DemoUser(id++, username, role, displayName);
            _users[username] = (user, hasher.HashPassword(user, password));
        }

        _dummyHash = hasher.HashPassword(NoUser, Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));
    }

    /// <summary>All users, without secrets.</summary>
    public IEnumerable<DemoUser> All => _users.Values.Select(u => u.User).OrderBy(u => u.Id);

    /// <summary>The user when the password matches, else null. Exactly one hash verification either way.</summary>
    public DemoUser? Verify(string? username, string? password)
    {
        if (string.IsNullOrEmpty(username) || !_users.TryGetValue(username, out var entry))
        {
            _hasher.VerifyHashedPassword(NoUser, _dummyHash, password ?? string.Empty);
            return null;
        }

        return _hasher.VerifyHashedPassword(entry.User, entry.Hash, password ?? string.Empty) == PasswordVerificationResult.Failed ? null : entry.User;
    }

    /// <summary>The stored hash of a user (for tests of the hash format); never sent anywhere.</summary>
    internal string? HashOf(string username) => _users.TryGetValue(username, out var entry) ? entry.Hash : null;

    /// <summary>The user with id <paramref name="id"/>, or null.</summary>
    public DemoUser? Find(int id) => _users.Values.Select(u => u.User).FirstOrDefault(u => u.Id == id);
}
