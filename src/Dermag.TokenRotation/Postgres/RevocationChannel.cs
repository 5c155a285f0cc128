using System.Security.Cryptography;
using System.Text;

namespace Dermag.TokenRotation;

/// <summary>The <c>LISTEN/NOTIFY</c> channel on which the stores of one schema publish revoked session ids.</summary>
internal static class RevocationChannel
{
    private const string Prefix = "dermag_revocations_";
    private const int MaxIdentifierBytes = 63;

    /// <summary>
    /// <c>dermag_revocations_&lt;schema&gt;</c>, or, when that would exceed PostgreSQL's 63-byte identifier limit, the prefix and a
    /// hash of the schema, so two schemas never share a channel.
    /// </summary>
    public static string For(string schema)
    {
        var name = Prefix + schema;
        return name.Length <= MaxIdentifierBytes
            ? name
            : Prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schema)))[..32];
    }

    /// <summary>Parses a payload: session ids separated by commas, or <c>*</c> for "drop everything".</summary>
    public static bool TryParse(string payload, out List<Guid> sessionIds)
    {
        sessionIds = [];
        if (payload == "*")
        {
            return false;
        }

        foreach (var part in payload.Split(','))
        {
            if (!Guid.TryParse(part, out var id))
            {
                return false; // not ours or damaged: the caller drops everything, which is always safe
            }

            sessionIds.Add(id);
        }

        return true;
    }
}
