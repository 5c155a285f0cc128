using System.Text.Json;
using Dermag.BomTriggers.Tests.TestSupport;

namespace Dermag.BomTriggers.Tests.Engine;

public class JsonSanitizerTests
{
    [Theory]
    [InlineData("""{"a":"x"}""")]
    [InlineData("""{"a":"\\u0000 is a backslash and text","b":"\\\\ud800"}""")]
    [InlineData("""{"pair":"\ud83d\ude00","n":1e400,"s":"1e200000"}""")]
    [InlineData("""[1.5,-2e-3,true,null,{"k":[]}]""")]
    public void ForLog_StorableJson_IsReturnedAsItIs(string json)
    {
        var value = Json.Parse(json);

        JsonSanitizer.ForLog(value)!.Value.GetRawText().Should().Be(json);
        JsonSanitizer.ForReading(value, out var rewritten).GetRawText().Should().Be(json);
        rewritten.Should().BeFalse();
    }

    [Theory]
    [InlineData("""{"a":"x\u0000y"}""", """{"a":"x\ufffdy"}""")]
    [InlineData("""{"k\u0000":"\ud800","pair":"\ud83d\ude00"}""", """{"k\ufffd":"\ufffd","pair":"\ud83d\ude00"}""")]
    [InlineData("""["\udc00\ud800\ud800\udc00"]""", """["\ufffd\ufffd\ud800\udc00"]""")]
    [InlineData("""{"n":1e200000,"m":-1e-16384,"ok":1e-16383,"s":"1e200000"}""", """{"n":"1e200000","m":"-1e-16384","ok":1e-16383,"s":"1e200000"}""")]
    [InlineData("""[0e99999,5E+0000000000001]""", """[0e99999,5E+0000000000001]""")]
    public void ForLog_RewritesOnlyWhatNoStoreCanHold(string json, string expected) =>
        JsonSanitizer.ForLog(Json.Parse(json))!.Value.GetRawText().Should().Be(expected);

    [Fact]
    public void ForLog_LongNumberWithoutExponent_IsCheckedToo()
    {
        var fraction = new string('1', 16384);

        JsonSanitizer.ForLog(Json.Parse($$"""{"n":0.{{fraction}}}"""))!.Value.GetProperty("n").GetString().Should().Be("0." + fraction);
    }

    [Fact]
    public void ForReading_ReplacesOnlyUnpairedSurrogates()
    {
        var read = JsonSanitizer.ForReading(Json.Parse("""{"a":"x\u0000y","b":"\ud800","c":1e200000}"""), out var rewritten);

        rewritten.Should().BeTrue();
        read.GetRawText().Should().Be("""{"a":"x\u0000y","b":"\ufffd","c":1e200000}""");
        read.GetProperty("b").GetString().Should().Be("\uFFFD");
    }

    // System.Text.Json parses string bytes that are not UTF-8 and throws only when the string is read (found by fuzzing).
    [Fact]
    public void ForReading_BytesThatAreNotUtf8_BecomeReplacementCharacters()
    {
        byte[] json = [.. "{\"a\":\"x"u8, 0x96, .. "\",\"b\":[\""u8, 0xff, 0xc3, .. "\"],\"c\":\"\\ud800\"}"u8];
        using var document = JsonDocument.Parse(json);

        var read = JsonSanitizer.ForReading(document.RootElement, out var rewritten);

        rewritten.Should().BeTrue();
        read.GetProperty("a").GetString().Should().Be("x\uFFFD");
        read.GetProperty("b")[0].GetString().Should().Be("\uFFFD\uFFFD");
        read.GetProperty("c").GetString().Should().Be("\uFFFD");
        JsonSanitizer.ForLog(document.RootElement)!.Value.GetProperty("a").GetString().Should().Be("x\uFFFD");
    }

    [Fact]
    public void StorableJson_BytesThatAreNotUtf8_AreAValidationErrorNotAnException()
    {
        using var document = JsonDocument.Parse(new byte[] { (byte)'{', (byte)'"', 0xff, (byte)'"', (byte)':', (byte)'"', 0x96, (byte)'"', (byte)'}' });
        var errors = new List<TriggerValidationError>();

        StorableJson.Check(document.RootElement, "/triggerCondition", errors).Should().BeFalse();

        errors.Should().ContainSingle().Which.Message.Should().Be("the key contains a byte that is not UTF-8 (0xff); text must be valid Unicode");
    }

    [Fact]
    public void ForReading_DocumentWithComments_IsRewrittenWithoutThrowing()
    {
        using var document = JsonDocument.Parse("{\"a\":\"\\ud800\" /* a \" quote */, // \"\n \"b\":1,}", new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });

        var read = JsonSanitizer.ForReading(document.RootElement, out _);

        read.GetProperty("a").GetString().Should().Be("\uFFFD");
        read.GetProperty("b").GetInt32().Should().Be(1);
    }

    [Fact]
    public void ForLog_Text_ReplacesNulAndUnpairedSurrogates()
    {
        // A [Theory] would not do: xunit's serialization of test cases mangles unpaired surrogates before the test runs.
        (string Text, string Expected)[] cases =
        [
            ("plain", "plain"),
            ("a\0b\0", "a\uFFFDb\uFFFD"),
            ("\ud83d\ude00 \ud83d x \udc00", "\ud83d\ude00 \uFFFD x \uFFFD"),
            ("\0\ud800", "\uFFFD\uFFFD"),
        ];

        cases.Select(c => JsonSanitizer.ForLog(c.Text)).Should().Equal(cases.Select(c => c.Expected));
    }
}
