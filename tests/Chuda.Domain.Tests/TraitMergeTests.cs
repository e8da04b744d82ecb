using System.Text.Json;
using Chuda.Domain.Profiles;

namespace Chuda.Domain.Tests;

public class TraitMergeTests
{
    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Fact]
    public void Nested_objects_merge_arrays_and_scalars_replace()
    {
        var merged = TraitMerge.Merge(
            """{"name":"Ann","address":{"city":"Paris","zip":"75001"},"tags":[1,2],"age":30}""",
            J("""{"address":{"city":"上海"},"tags":[3],"age":31,"plan":"pro"}"""));
        Assert.Equal("""{"name":"Ann","address":{"city":"上海","zip":"75001"},"tags":[3],"age":31,"plan":"pro"}""", merged);
    }

    [Fact]
    public void Null_unsets_keys_also_nested()
    {
        var merged = TraitMerge.Merge(
            """{"a":1,"b":{"c":2,"d":3},"e":4}""",
            J("""{"a":null,"b":{"c":null},"f":null,"g":{"h":null,"i":1}}"""));
        Assert.Equal("""{"b":{"d":3},"e":4,"g":{"i":1}}""", merged);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("{}")]
    public void Empty_existing_traits_are_an_empty_object(string existing) =>
        Assert.Equal("""{"x":1}""", TraitMerge.Merge(existing, J("""{"x":1}""")));

    [Fact]
    public void Non_object_incoming_changes_nothing()
    {
        Assert.Equal("""{"x":1}""", TraitMerge.Merge("""{ "x" : 1 }""", default));
        Assert.Equal("{}", TraitMerge.Merge("", J("null")));
    }

    [Fact]
    public void Object_replaces_scalar_and_scalar_replaces_object() =>
        Assert.Equal("""{"a":{"b":1},"c":2}""", TraitMerge.Merge("""{"a":1,"c":{"d":1}}""", J("""{"a":{"b":1},"c":2}""")));

    [Fact]
    public void MergeObjects_into_wins_from_fills_gaps_deeply()
    {
        var merged = TraitMerge.MergeObjects(
            """{"name":"Ann","address":{"city":"Paris"},"tags":[1]}""",
            """{"name":"Bob","address":{"city":"Rome","zip":"00100"},"tags":[2],"vip":true}""");
        Assert.Equal("""{"name":"Ann","address":{"city":"Paris","zip":"00100"},"tags":[1],"vip":true}""", merged);
    }

    [Fact]
    public void MergeObjects_handles_empty_sides()
    {
        Assert.Equal("""{"a":1}""", TraitMerge.MergeObjects("", """{"a":1}"""));
        Assert.Equal("""{"a":1}""", TraitMerge.MergeObjects("""{"a":1}""", ""));
        Assert.Equal("{}", TraitMerge.MergeObjects("", "{}"));
    }

    [Fact]
    public void Duplicate_keys_keep_the_last_one() =>
        Assert.Equal("""{"a":2,"b":1}""", TraitMerge.Merge("""{"a":1,"a":2}""", J("""{"b":0,"b":1}""")));

    [Fact]
    public void Chinese_text_round_trips_unescaped()
    {
        var merged = TraitMerge.Merge("""{"城市":"北京"}""", J("""{"名字":"张三","emoji":"😀"}"""));
        // CJK is written as-is; characters outside the BMP (emoji) are \u-escaped surrogate pairs, equivalent JSON.
        Assert.StartsWith("""{"城市":"北京","名字":"张三","emoji":""", merged, StringComparison.Ordinal);
        var root = JsonDocument.Parse(merged).RootElement;
        Assert.Equal("张三", root.GetProperty("名字").GetString());
        Assert.Equal("😀", root.GetProperty("emoji").GetString());
    }
}
