using Chuda.Domain.Ingestion;

namespace Chuda.Domain.Tests;

/// <summary>Regression: a NUL character reached PostgreSQL text columns and failed the whole batch it was in.</summary>
public class NulCharacterTests
{
    [Fact]
    public void A_nul_in_an_id_is_a_400_naming_the_field()
    {
        var result = SegmentParserTests.Single("""{"userId":"a\u0000b","event":"E"}""", MessageType.Track);
        var error = Assert.Single(result.Errors);
        Assert.Equal("userId", error.Field);
        Assert.Empty(result.Messages);
    }

    [Fact]
    public void A_nul_deep_in_a_batch_names_its_path()
    {
        var result = SegmentParserTests.Batch("""
            {"batch":[{"type":"track","userId":"u","event":"E"},
                      {"type":"track","userId":"u","event":"E","properties":{"items":[{"note":"x\u0000"}]}}]}
            """);
        Assert.Equal("batch[1].properties.items[0].note", Assert.Single(result.Errors).Field);
        Assert.Empty(result.Messages);
    }

    [Fact]
    public void A_literal_backslash_u0000_text_is_not_a_nul()
    {
        var result = SegmentParserTests.Single("""{"userId":"u","event":"E","properties":{"code":"\\u0000"}}""", MessageType.Track);
        Assert.True(result.IsValid);
    }
}
