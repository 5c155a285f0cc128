using System.Globalization;
using System.Numerics;
using System.Text;

namespace Dermag.BomTriggers;

/// <summary>Exact comparison of JSON numbers, and the range PostgreSQL's <c>jsonb</c> (<c>numeric</c>) can hold.</summary>
/// <remarks>
/// A number is read as sign, significant digits and the position of the decimal point, straight from the UTF-8 text
/// System.Text.Json validated, so any JSON number compares exactly (<c>1e-30</c> is not 0, <c>1e400</c> is not infinity)
/// without rounding through <see cref="decimal"/> or <see cref="double"/> and without allocating.
/// </remarks>
internal static class JsonNumber
{
    /// <summary>The most digits <c>numeric</c> keeps before the decimal point (base-10000 weight 32767).</summary>
    public const int MaxIntegerDigits = 131072;

    /// <summary>The most digits <c>numeric</c> keeps after the decimal point (its display scale).</summary>
    public const int MaxFractionDigits = 16383;

    public const string OutOfRangeMessage = "number out of range; at most 131072 digits before and 16383 after the decimal point (PostgreSQL's numeric)";

    // numeric_in rejects an exponent at or beyond INT_MAX / 2 before looking at the digits, even for zero.
    private const long MaxExponent = int.MaxValue / 2;

    // Above 18 digits an exponent no longer fits a long with room to add the digit count; such exponents are compared
    // through BigInteger, and until then stand in as this value, which is beyond every exponent that did fit.
    private const long Saturated = 2_000_000_000_000_000_000;

    /// <summary>Orders two JSON numbers by value: negative, zero or positive as <paramref name="x"/> is below, equal to or above <paramref name="y"/>.</summary>
    public static int Compare(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y)
    {
        if (x.SequenceEqual(y))
        {
            return 0;
        }

        var a = new Parts(x);
        var b = new Parts(y);
        if (a.IsZero || b.IsZero)
        {
            return a.IsZero && b.IsZero ? 0 : a.IsZero ? (b.Negative ? 1 : -1) : (a.Negative ? -1 : 1);
        }

        if (a.Negative != b.Negative)
        {
            return a.Negative ? -1 : 1;
        }

        var magnitude = CompareMagnitude(ref a, ref b);
        return a.Negative ? -magnitude : magnitude;
    }

    /// <summary>
    /// Whether PostgreSQL's <c>numeric</c> (so <c>jsonb</c>) can hold the number as written: at most
    /// <see cref="MaxIntegerDigits"/> digits before the decimal point and <see cref="MaxFractionDigits"/> after it
    /// (counted as written, trailing zeros included, as <c>numeric</c> keeps them).
    /// </summary>
    public static bool FitsPostgresNumeric(ReadOnlySpan<byte> number)
    {
        var parts = new Parts(number);
        if (parts.ExponentSaturated || Math.Abs(parts.Exponent) >= MaxExponent)
        {
            return false;
        }

        var fractionDigits = parts.FractionLength - parts.Exponent;
        return fractionDigits <= MaxFractionDigits && (parts.IsZero || parts.AdjustedExponent <= MaxIntegerDigits);
    }

    private static int CompareMagnitude(ref Parts a, ref Parts b)
    {
        if (a.ExponentSaturated && b.ExponentSaturated && Math.Sign(a.Exponent) == Math.Sign(b.Exponent))
        {
            var exact = a.ExactAdjustedExponent().CompareTo(b.ExactAdjustedExponent());
            if (exact != 0)
            {
                return exact;
            }
        }
        else if (a.AdjustedExponent != b.AdjustedExponent)
        {
            return a.AdjustedExponent < b.AdjustedExponent ? -1 : 1;
        }

        // Same magnitude: the significant digits decide, the shorter one padded with zeros.
        var length = Math.Max(a.SignificantLength, b.SignificantLength);
        for (var i = 0; i < length; i++)
        {
            var difference = a.SignificantDigit(i) - b.SignificantDigit(i);
            if (difference != 0)
            {
                return difference < 0 ? -1 : 1;
            }
        }

        return 0;
    }

    /// <summary>
    /// A JSON number split into its parts. The value is 0.d1d2d3... x 10^AdjustedExponent, where d1 is the first
    /// non-zero digit of the integer and fraction digits taken together.
    /// </summary>
    private readonly ref struct Parts
    {
        private readonly ReadOnlySpan<byte> _integer;
        private readonly ReadOnlySpan<byte> _fraction;
        private readonly ReadOnlySpan<byte> _exponentDigits;
        private readonly int _first;

        public Parts(ReadOnlySpan<byte> text)
        {
            var i = 0;
            Negative = text.Length > 0 && text[0] == '-';
            if (Negative)
            {
                i++;
            }

            var start = i;
            while (i < text.Length && IsDigit(text[i]))
            {
                i++;
            }

            _integer = text[start..i];
            _fraction = default;
            if (i < text.Length && text[i] == '.')
            {
                start = ++i;
                while (i < text.Length && IsDigit(text[i]))
                {
                    i++;
                }

                _fraction = text[start..i];
            }

            _exponentDigits = default;
            long exponent = 0;
            if (i < text.Length && (text[i] | 0x20) == 'e')
            {
                i++;
                var negativeExponent = i < text.Length && text[i] == '-';
                if (i < text.Length && text[i] is (byte)'-' or (byte)'+')
                {
                    i++;
                }

                var digits = text[i..];
                var nonZero = digits.IndexOfAnyExcept((byte)'0');
                _exponentDigits = nonZero < 0 ? default : digits[nonZero..];
                if (_exponentDigits.Length > 18)
                {
                    ExponentSaturated = true;
                    exponent = Saturated;
                }
                else
                {
                    foreach (var digit in _exponentDigits)
                    {
                        exponent = (exponent * 10) + (digit - '0');
                    }
                }

                exponent = negativeExponent ? -exponent : exponent;
            }

            Exponent = exponent;

            var firstInInteger = _integer.IndexOfAnyExcept((byte)'0');
            var firstInFraction = firstInInteger >= 0 ? -1 : _fraction.IndexOfAnyExcept((byte)'0');
            _first = firstInInteger >= 0 ? firstInInteger : firstInFraction >= 0 ? _integer.Length + firstInFraction : -1;
            IsZero = _first < 0;

            // Trailing zeros carry no value; stopping at the last non-zero digit keeps the digit walk short.
            var lastInFraction = _fraction.LastIndexOfAnyExcept((byte)'0');
            var last = lastInFraction >= 0 ? _integer.Length + lastInFraction : _integer.LastIndexOfAnyExcept((byte)'0');
            SignificantLength = IsZero ? 0 : last - _first + 1;
            AdjustedExponent = IsZero ? 0 : _integer.Length - _first + exponent;
        }

        public bool Negative { get; }

        public bool IsZero { get; }

        /// <summary>The written exponent (0 when none); <see cref="Saturated"/> with its sign when beyond 18 digits.</summary>
        public long Exponent { get; }

        public bool ExponentSaturated { get; }

        public long AdjustedExponent { get; }

        public int SignificantLength { get; }

        public int FractionLength => _fraction.Length;

        /// <summary>The i-th significant digit (0 past the last one).</summary>
        public int SignificantDigit(int i)
        {
            if (i >= SignificantLength)
            {
                return 0;
            }

            var position = _first + i;
            return (position < _integer.Length ? _integer[position] : _fraction[position - _integer.Length]) - '0';
        }

        /// <summary>The adjusted exponent without saturation; only for exponents of more than 18 digits, which are rare.</summary>
        public BigInteger ExactAdjustedExponent()
        {
            var exponent = BigInteger.Parse(Encoding.ASCII.GetString(_exponentDigits), NumberStyles.None, CultureInfo.InvariantCulture);
            return (Exponent < 0 ? -exponent : exponent) + (_integer.Length - _first);
        }

        private static bool IsDigit(byte value) => (uint)(value - '0') <= 9;
    }
}
