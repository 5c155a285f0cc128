using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Dermag.BomTriggers;

/// <summary>
/// Makes JSON the engine did not validate (event data, action results, action errors) readable and storable, the same
/// way for every store. For reading, an unpaired UTF-16 surrogate and a byte sequence that is not UTF-8 (which
/// System.Text.Json will not read as a string) become U+FFFD. For the log, U+0000 becomes U+FFFD too (PostgreSQL cannot store it) and a number beyond
/// PostgreSQL's <c>numeric</c> becomes a string of its text, so no log row is refused.
/// </summary>
/// <remarks>
/// Both problems in strings can only arrive as <c>\u</c> escapes, and an unstorable number needs a five-digit exponent
/// or thousands of digits, so clean JSON (nearly all of it) is recognised by a vectorized search and returned as it is.
/// </remarks>
internal static class JsonSanitizer
{
    // A number without a five-digit exponent needs more digits than this to leave numeric's range (16383 - 9999).
    private const int ShortestUnstorableWithoutLongExponent = JsonNumber.MaxFractionDigits - 9999 + 1;

    private static readonly JsonDocumentOptions ReparseOptions = new()
    {
        // The text came from a parsed document; accept whatever that document's options accepted.
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = int.MaxValue,
    };

    private static readonly SearchValues<byte> ExponentMarks = SearchValues.Create("eE"u8);

    /// <summary>Returns <paramref name="value"/> with unpaired surrogates replaced, or itself when it has none.</summary>
    public static JsonElement ForReading(JsonElement value, out bool rewritten)
    {
        var text = value.ValueKind is JsonValueKind.String or JsonValueKind.Object or JsonValueKind.Array
            ? Rewrite(JsonMarshal.GetRawUtf8Value(value), forStorage: false)
            : null;
        rewritten = text is not null;
        return text is null ? value : Parse(text);
    }

    /// <summary>Returns <paramref name="value"/> as every store can log it, or itself when it already is.</summary>
    public static JsonElement? ForLog(JsonElement? value) =>
        value is { ValueKind: not JsonValueKind.Undefined } element && Rewrite(JsonMarshal.GetRawUtf8Value(element), forStorage: true) is { } rewritten
            ? Parse(rewritten)
            : value;

    /// <summary>Returns <paramref name="text"/> with U+0000 and unpaired surrogates replaced by U+FFFD, or itself when it has none.</summary>
    public static string? ForLog(string? text)
    {
        if (text is null || JsonEscapes.FindProblem(text, out _, out _) < 0)
        {
            return text;
        }

        var builder = new StringBuilder(text);
        var offset = 0;
        int at;
        while ((at = JsonEscapes.FindProblem(text.AsSpan(offset), out _, out _)) >= 0)
        {
            builder[offset + at] = '\uFFFD';
            offset += at + 1;
        }

        return builder.ToString();
    }

    /// <summary>The rewritten text, or null when nothing needs rewriting.</summary>
    private static byte[]? Rewrite(ReadOnlySpan<byte> raw, bool forStorage)
    {
        // System.Text.Json parses strings whose bytes are not UTF-8 (it checks only when a string is read): such
        // sequences become U+FFFD first. Outside strings the parser accepts no such byte, so only strings change.
        var notUtf8 = !Utf8.IsValid(raw);
        if (notUtf8)
        {
            raw = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(raw));
        }
        else if (raw.IndexOf((byte)'\\') < 0 && !(forStorage && MayHoldUnstorableNumber(raw)))
        {
            return null;
        }

        ArrayBufferWriter<byte>? output = null;
        var copied = 0;
        var i = 0;
        while (i < raw.Length)
        {
            var current = raw[i];
            if (current == '"')
            {
                var end = StringEnd(raw, i);
                var offset = i;
                int at;
                while ((at = JsonEscapes.FindProblem(raw[offset..end], nulIsProblem: forStorage, out _, out _)) >= 0)
                {
                    output ??= new ArrayBufferWriter<byte>(raw.Length + 16);
                    output.Write(raw[copied..(offset + at)]);
                    output.Write("\\ufffd"u8);
                    offset += at + JsonEscapes.EscapeLength;
                    copied = offset;
                }

                i = end;
            }
            else if (current == '/' && i + 1 < raw.Length && raw[i + 1] is (byte)'/' or (byte)'*')
            {
                i = CommentEnd(raw, i);
            }
            else if (forStorage && (current == '-' || IsDigit(current)))
            {
                var start = i;
                while (i < raw.Length && (IsDigit(raw[i]) || raw[i] is (byte)'.' or (byte)'e' or (byte)'E' or (byte)'+' or (byte)'-'))
                {
                    i++;
                }

                if (!JsonNumber.FitsPostgresNumeric(raw[start..i]))
                {
                    output ??= new ArrayBufferWriter<byte>(raw.Length + 16);
                    output.Write(raw[copied..start]);
                    output.Write("\""u8);
                    output.Write(raw[start..i]);
                    output.Write("\""u8);
                    copied = i;
                }
            }
            else
            {
                i++;
            }
        }

        if (output is null)
        {
            return notUtf8 ? raw.ToArray() : null;
        }

        output.Write(raw[copied..]);
        return output.WrittenSpan.ToArray();
    }

    private static bool MayHoldUnstorableNumber(ReadOnlySpan<byte> raw)
    {
        if (raw.Length >= ShortestUnstorableWithoutLongExponent)
        {
            return true;
        }

        // Otherwise only an exponent of five digits or more (leading zeros count; a false alarm only costs a scan).
        var i = raw.IndexOfAny(ExponentMarks);
        while (i >= 0)
        {
            var digits = i + 1 < raw.Length && raw[i + 1] is (byte)'+' or (byte)'-' ? i + 2 : i + 1;
            var run = digits < raw.Length ? raw[digits..].IndexOfAnyExceptInRange((byte)'0', (byte)'9') : 0;
            if ((run < 0 ? raw.Length - digits : run) >= 5)
            {
                return true;
            }

            var next = raw[(i + 1)..].IndexOfAny(ExponentMarks);
            i = next < 0 ? -1 : i + 1 + next;
        }

        return false;
    }

    /// <summary>The index just past the string that starts with the quote at <paramref name="start"/>.</summary>
    private static int StringEnd(ReadOnlySpan<byte> raw, int start)
    {
        var i = start + 1;
        while (i < raw.Length)
        {
            var next = raw[i..].IndexOfAny((byte)'"', (byte)'\\');
            if (next < 0)
            {
                return raw.Length;
            }

            i += next;
            if (raw[i] == '"')
            {
                return i + 1;
            }

            i += 2;
        }

        return raw.Length;
    }

    private static int CommentEnd(ReadOnlySpan<byte> raw, int start)
    {
        var body = raw[(start + 2)..];
        if (raw[start + 1] == '/')
        {
            var newline = body.IndexOfAny((byte)'\n', (byte)'\r');
            return newline < 0 ? raw.Length : start + 2 + newline;
        }

        var close = body.IndexOf("*/"u8);
        return close < 0 ? raw.Length : start + 2 + close + 2;
    }

    private static bool IsDigit(byte value) => (uint)(value - '0') <= 9;

    private static JsonElement Parse(byte[] json)
    {
        using var document = JsonDocument.Parse(json, ReparseOptions);
        return document.RootElement.Clone();
    }
}
