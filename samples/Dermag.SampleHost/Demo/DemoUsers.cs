using System.Security.Cryptography;
using System.Text;

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
/// The demo's users, with passwords stored as salted PBKDF2-SHA256 hashes (never in clear). The passwords are the
/// documented demo passwords; a real app keeps users in its own database.
/// </summary>
public sealed class DemoUserStore
{
    private const int Iterations = 100_000;
    private const int HashBytes = 32;

    /// <summary>The demo accounts and their passwords, as README lists them.</summary>
    public static IReadOnlyList<(string Username, string Password, string Role, string DisplayName)> Accounts { get; } =
    [
        ("admin", "Admin123!", Roles.Admin, "Ada Admin"),
        ("manager", "Manager123!", Roles.Manager, "Marek Manager"),
        ("bom_editor", "Editor123!", Roles.BomEditor, "Ewa Editor"),
        ("technician", "Tech123!", Roles.Technician, "Tomasz Technician"),
    ];

    private readonly Dictionary<string, (DemoUser User, byte[] Salt, byte[] Hash)> _users = new(StringComparer.OrdinalIgnoreCase);

    public DemoUserStore()
    {
        var id = 1;
        foreach (var (username, password, role, displayName) in Accounts)
        {
            var salt = RandomNumberGenerator.GetBytes(16);
            _users[username] = (new DemoUser(id++, username, role, displayName), salt, Hash(password, salt));
        }
    }

    /// <summary>All users, without secrets.</summary>
    public IEnumerable<DemoUser> All => _users.Values.Select(u => u.User).OrderBy(u => u.Id);

    /// <summary>The user when the password matches, else null (compared in constant time).</summary>
    public DemoUser? Verify(string? username, string? password)
    {
        if (string.IsNullOrEmpty(username) || password is null || !_users.TryGetValue(username, out var entry))
        {
            return null;
        }

        return CryptographicOperations.FixedTimeEquals(Hash(password, entry.Salt), entry.Hash) ? entry.User : null;
    }

    /// <summary>The user with id <paramref name="id"/>, or null.</summary>
    public DemoUser? Find(int id) => _users.Values.Select(u => u.User).FirstOrDefault(u => u.Id == id);

    private static byte[] Hash(string password, byte[] salt) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, Iterations, HashAlgorithmName.SHA256, HashBytes);
}
