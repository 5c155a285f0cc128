using System.Globalization;
using System.Numerics;
using System.Text;
using Dermag.Testing;
using Npgsql;

namespace Dermag.BomTriggers.Tests.Conditions;

public class JsonNumberTests
{
    [Theory]
    [InlineData("1", "1.0", 0)]
    [InlineData("1", "1e0", 0)]
    [InlineData("1", "0.001E3", 0)]
    [InlineData("-0", "0.0e-9", 0)]
    [InlineData("0", "1e-30", -1)]
    [InlineData("5e-29", "0", 1)]
    [InlineData("-1e-30", "0", -1)]
    [InlineData("0.30000000000000000000000000001", "0.3", 1)]
    [InlineData("1e29", "100000000000000000000000000000", 0)]
    [InlineData("1e400", "1.0000000000000000000000000000000000001e400", -1)]
    [InlineData("-1e400", "-2e400", 1)]
    [InlineData("1e99999999999999999999", "1e400", 1)]
    [InlineData("1e99999999999999999999", "1e99999999999999999998", 1)]
    [InlineData("10e99999999999999999998", "1e99999999999999999999", 0)]
    [InlineData("1e-99999999999999999999", "0", 1)]
    [InlineData("1e-99999999999999999999", "1e-99999999999999999998", -1)]
    [InlineData("-1e99999999999999999999", "1e-99999999999999999999", -1)]
    [InlineData("9007199254740993", "9007199254740992", 1)]
    public void Compare_IsExact(string x, string y, int expected)
    {
        JsonNumber.Compare(Bytes(x), Bytes(y)).Should().Be(expected);
        JsonNumber.Compare(Bytes(y), Bytes(x)).Should().Be(-expected);
    }

    [Fact]
    public void Compare_RandomNumbers_AgreesWithBigIntegerArithmetic()
    {
        var random = new Random(20261230);
        for (var i = 0; i < 20_000; i++)
        {
            var x = RandomNumber(random);
            var y = i % 4 == 0 ? Rewrite(x, random) : RandomNumber(random);

            var expected = CompareValues(Reference(x), Reference(y));

            Math.Sign(JsonNumber.Compare(Bytes(x), Bytes(y))).Should().Be(expected, $"{x} vs {y}");
        }
    }

    // Boundaries measured against PostgreSQL 15 ('...'::jsonb); PostgresNumericRangeTests checks them on the server.
    public static TheoryData<string, bool> NumericRange => new()
    {
        { "0", true },
        { "1e400", true },
        { "1e131071", true },
        { "9.9e131071", true },
        { "1e131072", false },
        { "0.0001e131075", true },
        { "0.0001e131076", false },
        { "0.000e131080", true },
        { "0e200000", true },
        { "0e1073741822", true },
        { "0e1073741823", false },
        { "0e99999999999999999999", false },
        { "1e-16383", true },
        { "1e-16384", false },
        { "1.0e-16383", false },
        { "1.50e-16382", false },
        { "1.23e-16381", true },
        { "100e-16384", false },
        { "0e-16383", true },
        { "0e-20000", false },
        { "1e-99999999999999999999", false },
        { "-1e131071", true },
        { "-1e131072", false },
    };

    [Theory]
    [MemberData(nameof(NumericRange))]
    public void FitsPostgresNumeric_MatchesPostgres(string number, bool fits) =>
        JsonNumber.FitsPostgresNumeric(Bytes(number)).Should().Be(fits);

    internal static byte[] Bytes(string text) => Encoding.ASCII.GetBytes(text);

    private static string RandomNumber(Random random)
    {
        var text = new StringBuilder();
        if (random.Next(3) == 0)
        {
            text.Append('-');
        }

        text.Append(random.Next(4) == 0 ? "0" : random.Next(1, 10).ToString(CultureInfo.InvariantCulture) + Digits(random, random.Next(0, 25)));
        if (random.Next(2) == 0)
        {
            text.Append('.').Append(Digits(random, random.Next(1, 25)));
        }

        if (random.Next(2) == 0)
        {
            text.Append(random.Next(2) == 0 ? 'e' : 'E').Append(random.Next(3) switch { 0 => "-", 1 => "+", _ => "" }).Append(random.Next(0, 40));
        }

        return text.ToString();
    }

    // Mostly zeros and nines, so equal prefixes, carries and trailing zeros come up often.
    private static string Digits(Random random, int count) =>
        string.Concat(Enumerable.Range(0, count).Select(_ => random.Next(4) switch { 0 => '9', 1 => (char)('0' + random.Next(10)), _ => '0' }));

    /// <summary>The same value written differently: the decimal point moved, the exponent adjusted, zeros added.</summary>
    private static string Rewrite(string number, Random random)
    {
        var (mantissa, exponent) = Reference(number);
        var digits = BigInteger.Abs(mantissa).ToString(CultureInfo.InvariantCulture) + new string('0', random.Next(3));
        exponent -= digits.Length - BigInteger.Abs(mantissa).ToString(CultureInfo.InvariantCulture).Length;
        var point = random.Next(1, digits.Length + 1);
        var written = digits[..point] + (point < digits.Length ? "." + digits[point..] : string.Empty);
        return (mantissa.Sign < 0 ? "-" : string.Empty) + written + "e" + (exponent + digits.Length - point).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The value as mantissa x 10^exponent, by plain BigInteger arithmetic.</summary>
    private static (BigInteger Mantissa, int Exponent) Reference(string number)
    {
        var e = number.IndexOfAny(['e', 'E']);
        var exponent = e < 0 ? 0 : int.Parse(number[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var body = e < 0 ? number : number[..e];
        var dot = body.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            exponent -= body.Length - dot - 1;
            body = body.Remove(dot, 1);
        }

        return (BigInteger.Parse(body, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture), exponent);
    }

    private static int CompareValues((BigInteger Mantissa, int Exponent) x, (BigInteger Mantissa, int Exponent) y)
    {
        var shift = Math.Min(x.Exponent, y.Exponent);
        var left = x.Mantissa * BigInteger.Pow(10, x.Exponent - shift);
        var right = y.Mantissa * BigInteger.Pow(10, y.Exponent - shift);
        return left.CompareTo(right);
    }
}

/// <summary>The numeric range the validator enforces is the one the server enforces.</summary>
public sealed class PostgresNumericRangeTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Theory]
    [MemberData(nameof(JsonNumberTests.NumericRange), MemberType = typeof(JsonNumberTests))]
    public async Task FitsPostgresNumeric_AgreesWithJsonbInput(string number, bool fits)
    {
        await using var command = database.DataSource.CreateCommand("SELECT $1::jsonb IS NOT NULL");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = number });
        bool accepted;
        try
        {
            accepted = (bool)(await command.ExecuteScalarAsync())!;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.NumericValueOutOfRange)
        {
            accepted = false;
        }

        accepted.Should().Be(fits);
        JsonNumber.FitsPostgresNumeric(JsonNumberTests.Bytes(number)).Should().Be(fits);
    }
}
