using System.Text.Unicode;

namespace Dermag.BomTriggers;

/// <summary>What is wrong with a piece of text for reading it as a .NET string or storing it in PostgreSQL.</summary>
internal enum TextProblem
{
    None = 0,

    /// <summary>U+0000, which PostgreSQL's <c>text</c> and <c>jsonb</c> cannot hold.</summary>
    Nul = 1,

    /// <summary>A UTF-16 surrogate without its partner: not Unicode, so System.Text.Json will not read it as a string and PostgreSQL rejects it.</summary>
    UnpairedSurrogate = 2,

    /// <summary>Bytes that are not UTF-8, inside a string: System.Text.Json parses them but will not read them as a string.</summary>
    InvalidUtf8 = 3,
}

/// <summary>
/// Finds <c>\u0000</c> and unpaired surrogate escapes in raw JSON text, and bytes that are not UTF-8. Control characters
/// must be escaped, so the first two problems can only arrive as <c>\u</c> escapes. System.Text.Json does not check that
/// the bytes of a string are UTF-8 when it parses (only when the string is read), so that is checked too; both checks are
/// vectorized searches, so clean text (nearly all of it) costs little.
/// </summary>
internal static class JsonEscapes
{
    /// <summary>The length of one <c>\uXXXX</c> escape.</summary>
    public const int EscapeLength = 6;

    /// <summary>
    /// The index of the first problem escape in <paramref name="text"/> (a string's raw value, a raw property name, or a
    /// whole document: backslashes occur only inside strings), or -1.
    /// </summary>
    /// <param name="text">Raw JSON text as System.Text.Json validated it.</param>
    /// <param name="nulIsProblem">Whether <c>\u0000</c> counts (it does for storage, not for reading).</param>
    /// <param name="problem">What the escape is.</param>
    /// <param name="codeUnit">The escaped UTF-16 code unit.</param>
    public static int FindProblem(ReadOnlySpan<byte> text, bool nulIsProblem, out TextProblem problem, out int codeUnit)
    {
        if (!Utf8.IsValid(text))
        {
            var invalid = FirstInvalidUtf8(text);
            (problem, codeUnit) = (TextProblem.InvalidUtf8, text[invalid]);
            return invalid;
        }

        var i = text.IndexOf((byte)'\\');
        while (i >= 0 && i + 1 < text.Length)
        {
            if (text[i + 1] != 'u' || i + EscapeLength > text.Length)
            {
                // \" \\ \/ \b \f \n \r \t: skipping both bytes keeps an escaped backslash from starting a false \u.
                i = NextBackslash(text, i + 2);
                continue;
            }

            var unit = Hex(text.Slice(i + 2, 4));
            if (unit is >= 0xD800 and <= 0xDBFF)
            {
                if (i + (2 * EscapeLength) <= text.Length && text[i + EscapeLength] == '\\' && text[i + EscapeLength + 1] == 'u'
                    && Hex(text.Slice(i + EscapeLength + 2, 4)) is >= 0xDC00 and <= 0xDFFF)
                {
                    i = NextBackslash(text, i + (2 * EscapeLength));
                    continue;
                }

                (problem, codeUnit) = (TextProblem.UnpairedSurrogate, unit);
                return i;
            }

            if (unit is >= 0xDC00 and <= 0xDFFF || (unit == 0 && nulIsProblem))
            {
                (problem, codeUnit) = (unit == 0 ? TextProblem.Nul : TextProblem.UnpairedSurrogate, unit);
                return i;
            }

            i = NextBackslash(text, i + EscapeLength);
        }

        (problem, codeUnit) = (TextProblem.None, 0);
        return -1;
    }

    /// <summary>The first U+0000 or unpaired surrogate in a .NET string, or -1.</summary>
    public static int FindProblem(ReadOnlySpan<char> text, out TextProblem problem, out int codeUnit)
    {
        var nul = text.IndexOf('\0');
        var searched = nul < 0 ? text : text[..nul];
        var i = searched.IndexOfAnyInRange('\uD800', '\uDFFF');
        while (i >= 0)
        {
            if (char.IsHighSurrogate(searched[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var next = i + 2 < searched.Length ? searched[(i + 2)..].IndexOfAnyInRange('\uD800', '\uDFFF') : -1;
                i = next < 0 ? -1 : i + 2 + next;
                continue;
            }

            (problem, codeUnit) = (TextProblem.UnpairedSurrogate, searched[i]);
            return i;
        }

        (problem, codeUnit) = nul < 0 ? (TextProblem.None, 0) : (TextProblem.Nul, 0);
        return nul;
    }

    /// <summary>A validation message for <paramref name="problem"/>.</summary>
    public static string Describe(TextProblem problem, int codeUnit) => problem switch
    {
        TextProblem.Nul => "contains U+0000, which PostgreSQL cannot store",
        TextProblem.InvalidUtf8 => $"contains a byte that is not UTF-8 (0x{codeUnit:x2}); text must be valid Unicode",
        _ => $"contains an unpaired UTF-16 surrogate (\\u{codeUnit:x4}); text must be valid Unicode",
    };

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> text)
    {
        var i = 0;
        while (i < text.Length && System.Text.Rune.DecodeFromUtf8(text[i..], out _, out var consumed) == System.Buffers.OperationStatus.Done)
        {
            i += consumed;
        }

        return Math.Min(i, text.Length - 1);
    }

    private static int NextBackslash(ReadOnlySpan<byte> text, int from)
    {
        if (from >= text.Length)
        {
            return -1;
        }

        var next = text[from..].IndexOf((byte)'\\');
        return next < 0 ? -1 : from + next;
    }

    private static int Hex(ReadOnlySpan<byte> digits)
    {
        var value = 0;
        foreach (var digit in digits)
        {
            value = (value << 4) | (digit <= '9' ? digit - '0' : (digit | 0x20) - 'a' + 10);
        }

        return value;
    }
}
