using Npgsql;

namespace Dermag.Migrations.Tests;

public sealed class PostgresStoreDataSourceTests
{
    [Fact]
    public void WithoutResetOnClose_StringThatDoesNotSayIt_TurnsTheResetOffAndKeepsTheRest()
    {
        var built = new NpgsqlConnectionStringBuilder(
            PostgresStoreDataSource<PostgresStoreOptions>.WithoutResetOnClose("Host=db;Username=app;Password=s3cret;Maximum Pool Size=7"));

        built.NoResetOnClose.Should().BeTrue();
        built.Host.Should().Be("db");
        built.Password.Should().Be("s3cret");
        built.MaxPoolSize.Should().Be(7);
    }

    [Theory]
    [InlineData("Host=db;No Reset On Close=false")]
    [InlineData("Host=db;NoResetOnClose=false")]
    [InlineData("Host=db;no reset on close=False")]
    public void WithoutResetOnClose_StringThatSetsIt_KeepsItsChoice(string connectionString)
    {
        var result = PostgresStoreDataSource<PostgresStoreOptions>.WithoutResetOnClose(connectionString);

        result.Should().Be(connectionString);
        new NpgsqlConnectionStringBuilder(result).NoResetOnClose.Should().BeFalse();
    }
}
